"""Small pure helpers for text that crosses into a store."""

from __future__ import annotations


def utf8_encodable(text: str) -> bool:
    """False for strings no UTF-8 store accepts, such as ones holding lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
