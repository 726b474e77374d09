"""Identity across the fleet: permissions, token verification and route declarations."""

from shared.service.auth.access import authenticate, authenticated, caller, public, requires
from shared.service.auth.denylist import Denylist
from shared.service.auth.principal import Principal
from shared.service.auth.verifier import KeysUnavailable, TokenRejected, TokenVerifier

__all__ = [
    "Denylist",
    "KeysUnavailable",
    "Principal",
    "TokenRejected",
    "TokenVerifier",
    "authenticate",
    "authenticated",
    "caller",
    "public",
    "requires",
]
