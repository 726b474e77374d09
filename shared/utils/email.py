"""Email addresses, checked for syntax only (no DNS, no deliverability).

The local part is checked by email-validator. The domain only has to be a syntactically valid
host name, so reserved and special-use names (`.test`, `.local`, `.example`) are accepted:
teams use them for test accounts and internal mail. The domain is lower-cased; the local part is
kept as written.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_LENGTH = 254


class InvalidEmail(ValueError):
    pass


def normalise_email(address: str) -> str:
    """The address in canonical form, or InvalidEmail saying what is wrong with it."""
    address = address.strip()
    if len(address) > MAX_LENGTH:
        raise InvalidEmail(f"an email address has at most {MAX_LENGTH} characters")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("an email address needs one local part, an @ and a domain")
    try:
        local = validate_email(f"{local}@example.com", check_deliverability=False).local_part
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEmail("the domain is not a valid host name") from None
    if len(ascii_domain) > 253 or not all(_LABEL.match(label) for label in ascii_domain.split(".")):
        raise InvalidEmail("the domain is not a valid host name")
    return f"{local}@{domain.rstrip('.').lower()}"
