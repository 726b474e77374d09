"""Which client a request came from, when it arrives through the gateway.

The gateway adds an RFC 7239 `Forwarded` element carrying a secret derived from the fleet's
service secret; services trust only elements with that secret (Sanic's FORWARDED_SECRET), so a
client that reaches a service port directly cannot pick the address that login throttling and
the audit log see.
"""

from __future__ import annotations

import hashlib
import hmac

from shared.config import LoomaSettings


def forwarding_secret(settings: LoomaSettings) -> str | None:
    if settings.service_client_secret is None:
        return None
    key = settings.service_client_secret.get_secret_value().encode()
    return hmac.new(key, b"looma forwarded header", hashlib.sha256).hexdigest()[:32]
