"""One service app under test: its server listeners run once, as a server process runs them, and
plain ASGI requests to it. `app.asgi_client` would run the listeners around every request.

The auth, CRM, config, monitor and vector test harnesses build on this.
"""

from __future__ import annotations

from typing import Any

import httpx

CLIENT_IP = "10.1.2.3"


def embedded_settings(data_dir: Any) -> Any:
    """Settings for one service under test: embedded stores in `data_dir`, no gateway, schema migrated."""
    from shared.config import LoomaSettings
    from shared.database.schema import upgrade

    settings = LoomaSettings(_env_file=None, data_dir=data_dir, env="test", database_url=None,  # type: ignore[call-arg]
                             redis_url=None, gateway_url=None, log_level="WARNING")
    upgrade(settings.sqlalchemy_url)
    return settings


class ServiceHarness:
    host = "service.test"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.app.asgi_client  # noqa: B018 -- puts the app in ASGI mode, as sanic-testing does

    async def start(self) -> None:
        # What SanicASGITestClient.request does before each request, done once.
        self.app.router.reset()
        self.app.signal_router.reset()
        await self.app._startup()
        await self.app._server_event("init", "before")
        await self.app._server_event("init", "after")

    async def stop(self) -> None:
        await self.app._server_event("shutdown", "before")
        await self.app._server_event("shutdown", "after")

    def transport(self, client_ip: str = CLIENT_IP) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app, client=(client_ip, 40000))

    async def send(self, method: str, path: str, *, token: str | None = None, client_ip: str = CLIENT_IP,
                   json: Any = None, content: bytes | str | None = None, headers: dict[str, str] | None = None,
                   params: dict[str, Any] | None = None, files: Any = None, data: dict[str, Any] | None = None,
                   timeout: float = 5.0) -> httpx.Response:
        """One request: with the bearer `token` if given, raw `content` sent as JSON, `files` as multipart."""
        sent: dict[str, str] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if content is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        async with httpx.AsyncClient(transport=self.transport(client_ip), base_url=f"http://{self.host}",
                                     timeout=timeout) as client:
            return await client.request(method, path, json=json, content=content, headers=sent, params=params,
                                        files=files, data=data)
