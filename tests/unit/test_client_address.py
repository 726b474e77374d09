"""Which client address a service records: only the one the gateway vouches for.

Login throttling and the audit log key on the client's address. Behind the gateway that is the
`for=` of the `Forwarded` element carrying the fleet's forwarding secret; anything a client sends
itself (X-Forwarded-For, a Forwarded element without the secret) is ignored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ai_services.ai_gateway.app import GatewayService
from ai_services.auth_service.app import AuthService
from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.service.forwarding import forwarding_secret

SECRET = "a-long-fleet-secret-for-tests"
ADMIN = {"email": "root@looma.test", "password": "correct horse battery"}


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=None, redis_url=None, gateway_url=None, service_client_secret=SECRET,
                             bootstrap_admin_email=ADMIN["email"], bootstrap_admin_password=ADMIN["password"])
    upgrade(settings.sqlalchemy_url)
    return settings


def audited_ips(settings: LoomaSettings) -> list[str]:
    with sqlite3.connect(settings.data_dir / "looma.db") as db:
        return [ip for (ip,) in db.execute("SELECT ip FROM auth_audit_log WHERE action = 'login' ORDER BY id")]


async def test_only_the_gateways_forwarded_element_sets_the_client_address(settings: LoomaSettings) -> None:
    client = AuthService(settings).create_app().asgi_client
    secret = forwarding_secret(settings)
    assert secret is not None and SECRET not in secret
    attempts = [
        {"X-Forwarded-For": "203.0.113.77"},
        {"Forwarded": 'for="203.0.113.78";secret="guessed"'},
        {"Forwarded": f'for="198.51.100.9";proto=http;secret="{secret}"'},
    ]
    for headers in attempts:
        _, response = await client.post("/api/v1/auth/login", json=ADMIN, headers=headers)
        assert response.status == 200, response.text
    spoofed_one, spoofed_two, vouched = audited_ips(settings)
    assert spoofed_one != "203.0.113.77" and spoofed_two != "203.0.113.78"
    assert vouched == "198.51.100.9"


def test_the_gateway_replaces_any_forwarded_header_with_its_own(settings: LoomaSettings) -> None:
    from ai_services.ai_gateway.proxy import outgoing

    app = GatewayService(settings).create_app()

    class Incoming:  # the parts of a Sanic request the header builder reads
        def __init__(self) -> None:
            from sanic.compat import Header

            self.app, self.ip, self.scheme, self.host, self.id = app, "192.0.2.5", "http", "looma:8206", "rid-1"
            self.headers = Header([("Forwarded", 'for="6.6.6.6";secret="x"'), ("X-Custom", "kept")])
            self.method, self.path, self.query_string, self.body = "GET", "/api/v1/talents", "", b""

    headers = outgoing(Incoming(), forwarding_secret(settings)).headers  # type: ignore[arg-type]
    assert headers.getall("Forwarded") == [f'for="192.0.2.5";proto=http;secret="{forwarding_secret(settings)}"']
    assert headers["X-Custom"] == "kept"
