"""Normalising what people write about how to reach a talent and where they are."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from shared.utils.email import InvalidEmail, normalise_email

DEFAULT_REGION = "CN"  # numbers written without a country code are read as Chinese

__all__ = ["InvalidEmail", "InvalidPhone", "e164", "name_key", "normalise_email"]


class InvalidPhone(ValueError):
    pass


def e164(number: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (+8613800138000), or InvalidPhone saying why not."""
    cleaned = number.strip()
    if not cleaned or len(cleaned) > 40:
        raise InvalidPhone("a phone number has from 1 to 40 characters")
    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(f"not a phone number: {error}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"{cleaned!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_SPACES = re.compile(r"[\s\u3000]+")


def name_key(name: str) -> str:
    """A name folded for comparison: NFKC, case-folded, single spaces, no punctuation around it."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return _SPACES.sub(" ", folded).strip(" .,-·•")
