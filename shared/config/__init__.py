from shared.config.client import (
    GATEWAY_LIMITS, MATCHING_WEIGHTS, ConfigClient, GatewayLimits, MatchingWeights, TypedKey,
)
from shared.config.settings import LoomaSettings, StaticInstance

__all__ = ["GATEWAY_LIMITS", "MATCHING_WEIGHTS", "ConfigClient", "GatewayLimits", "LoomaSettings", "MatchingWeights",
           "StaticInstance", "TypedKey"]
