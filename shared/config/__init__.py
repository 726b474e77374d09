from shared.config.settings import LoomaSettings, StaticInstance

__all__ = ["LoomaSettings", "StaticInstance"]
