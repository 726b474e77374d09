"""The config client against the real config service app: typed values, callbacks, and what it does
when the service is away (the last known good value, across restarts; the default when none)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.config import GATEWAY_LIMITS, MATCHING_WEIGHTS, ConfigClient, GatewayLimits, MatchingWeights
from shared.config.client import Call, ConfigUnavailable, HttpTransport, Reply, write_atomically
from shared.service.auth.permissions import CONFIG_READ
from tests.unit.test_config_service import (  # noqa: F401 -- fixtures
    LIMITS, WEIGHTS, ConfigHarness, ServedConfig, config_settings, harness, migrated_template,
)

DEFAULT_WEIGHTS = MatchingWeights.model_validate(MATCHING_WEIGHTS.default())


class AppTransport:
    """The client's way to the real config app, over ASGI. `down` makes the service unreachable."""

    def __init__(self, harness: ConfigHarness) -> None:
        self.harness = harness
        self.down = False

    async def send(self, call: Call) -> Reply:
        if self.down:
            raise ConfigUnavailable("connection refused")
        async with httpx.AsyncClient(transport=self.harness.transport(), base_url="http://config.test") as client:
            response = await client.get(call.path, params=dict(call.params), headers=dict(call.headers),
                                        timeout=call.timeout)
        return Reply(response.status_code, response.content)


class ServiceTokens:
    """A fleet service token from the test issuer; `bad_first` hands out an expired one until invalidated."""

    def __init__(self, harness: ConfigHarness, bad_first: bool = False) -> None:
        self.harness, self.bad = harness, bad_first
        self.invalidated = 0

    async def get(self) -> str:
        if self.bad:
            return self.harness.issuer.token(kind="service", org=None, role=None, ttl=-600, permissions=[CONFIG_READ])
        return self.harness.service_token()

    def invalidate(self) -> None:
        self.invalidated += 1
        self.bad = False


@pytest_asyncio.fixture
async def clients(harness: ConfigHarness, tmp_path: Path) -> AsyncIterator[Callable[..., ConfigClient]]:
    """Makes clients of the harness's app (stopped at the end), caching in one directory unless told."""
    made: list[ConfigClient] = []

    def make(transport: Any = "app", cache_dir: Path | None = None, **options: Any) -> ConfigClient:
        options = {"watch_timeout": 5.0, "retry_max": 0.2, "token": ServiceTokens(harness), **options}
        client = ConfigClient(AppTransport(harness) if transport == "app" else transport,
                              cache_dir or tmp_path / "config-cache", **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.stop()


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never came true")
        await asyncio.sleep(0.01)


async def set_global(harness: ConfigHarness, path: str, value: Any) -> dict[str, Any]:
    return await harness.put_ok(path, value, reason="fleet", role="superadmin", params={"scope": "global"})


# --- typed values --------------------------------------------------------------------------------


async def test_values_read_as_typed_models_with_missing_dimensions_at_zero(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    await set_global(harness, WEIGHTS, {"skills": 3, "semantic": 1})
    await set_global(harness, LIMITS, {"rate_per_org": 600, "balancing": "least_connections"})
    client = clients()

    await client.start()

    weights, limits = client.get(MATCHING_WEIGHTS), client.get(GATEWAY_LIMITS)
    assert isinstance(weights, MatchingWeights) and isinstance(limits, GatewayLimits)
    assert weights == MatchingWeights(skills=3, semantic=1)
    assert (weights.recency, weights.normalised()["skills"]) == (0.0, 0.75)
    assert limits == GatewayLimits(rate_per_org=600, balancing="least_connections")
    assert client.source(MATCHING_WEIGHTS) == "service" and client.reachable


async def test_an_org_client_reads_that_orgs_effective_values(harness: ConfigHarness,
                                                              clients: Callable[..., ConfigClient]) -> None:
    await harness.put_ok(WEIGHTS, {"location": 1}, reason="org a hires locally")
    for_a, fleet = clients(org_id=harness.orgs["a"]), clients()

    await for_a.start()
    await fleet.start()

    assert for_a.get(MATCHING_WEIGHTS) == MatchingWeights(location=1)
    assert fleet.get(MATCHING_WEIGHTS) == DEFAULT_WEIGHTS


# --- changes -------------------------------------------------------------------------------------


async def test_a_change_is_applied_without_restart_and_callbacks_hear_it(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    client = clients()
    heard: list[MatchingWeights] = []
    heard_async: list[MatchingWeights] = []
    limits_heard: list[GatewayLimits] = []

    async def remember(value: MatchingWeights) -> None:
        heard_async.append(value)

    client.on_change(MATCHING_WEIGHTS, heard.append)
    client.on_change(MATCHING_WEIGHTS, remember)
    client.on_change(GATEWAY_LIMITS, limits_heard.append)
    await client.start()
    assert heard == []  # the default it started with is no change

    await set_global(harness, WEIGHTS, {"skills": 1})
    await eventually(lambda: len(heard) == 1)
    await set_global(harness, WEIGHTS, {"skills": 1})  # a new version with the same value
    await set_global(harness, WEIGHTS, {"skills": 2})
    await eventually(lambda: len(heard) == 2)

    assert heard == heard_async == [MatchingWeights(skills=1), MatchingWeights(skills=2)]
    assert client.get(MATCHING_WEIGHTS) == MatchingWeights(skills=2)
    assert limits_heard == []


async def test_a_callback_that_fails_does_not_stop_the_others_or_the_watch(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    client = clients()
    heard: list[MatchingWeights] = []

    def broken(value: MatchingWeights) -> None:
        raise RuntimeError("bug in a consumer")

    client.on_change(MATCHING_WEIGHTS, broken)
    stop_hearing = client.on_change(MATCHING_WEIGHTS, heard.append)
    await client.start()
    await set_global(harness, WEIGHTS, {"salary": 1})
    await eventually(lambda: len(heard) == 1)
    stop_hearing()
    await set_global(harness, WEIGHTS, {"salary": 2})
    await eventually(lambda: client.get(MATCHING_WEIGHTS) == MatchingWeights(salary=2))

    assert heard == [MatchingWeights(salary=1)]


async def test_an_expired_token_is_renewed(harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    await set_global(harness, WEIGHTS, {"experience": 1})
    tokens = ServiceTokens(harness, bad_first=True)
    client = clients(token=tokens)

    await client.start()
    await eventually(lambda: client.source(MATCHING_WEIGHTS) == "service")

    assert tokens.invalidated == 1
    assert client.get(MATCHING_WEIGHTS) == MatchingWeights(experience=1)


# --- the service away ------------------------------------------------------------------------------


async def test_nothing_known_and_the_service_down_means_the_registered_defaults(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    transport = AppTransport(harness)
    transport.down = True
    client = clients(transport)

    await client.start(wait=1.0)

    assert client.get(MATCHING_WEIGHTS) == DEFAULT_WEIGHTS
    assert client.get(GATEWAY_LIMITS) == GatewayLimits()
    assert client.source(MATCHING_WEIGHTS) == "default" and not client.reachable


async def test_the_last_known_good_value_outlives_the_service_and_a_restart(
        harness: ConfigHarness, clients: Callable[..., ConfigClient], tmp_path: Path) -> None:
    await set_global(harness, WEIGHTS, {"skills": 4, "recency": 1})
    transport = AppTransport(harness)
    first = clients(transport, watch_timeout=0.5)
    await first.start()

    transport.down = True  # the service goes away while the client runs
    await eventually(lambda: not first.reachable)
    assert first.get(MATCHING_WEIGHTS) == MatchingWeights(skills=4, recency=1)
    await first.stop()

    restarted = clients(transport)  # this process restarts while the service is still down
    await restarted.start(wait=1.0)

    assert restarted.get(MATCHING_WEIGHTS) == MatchingWeights(skills=4, recency=1)
    assert restarted.source(MATCHING_WEIGHTS) == "last-known-good"
    assert restarted.get(GATEWAY_LIMITS) == GatewayLimits()
    saved = json.loads((tmp_path / "config-cache" / "matching__weights.json").read_text())
    assert (saved["key"], saved["value"], saved["scope"]) == ("matching/weights", {"skills": 4, "recency": 1}, "global")


async def test_a_client_catches_up_when_the_service_comes_back(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    transport = AppTransport(harness)
    transport.down = True
    client = clients(transport)
    heard: list[MatchingWeights] = []
    client.on_change(MATCHING_WEIGHTS, heard.append)
    await client.start(wait=1.0)
    await set_global(harness, WEIGHTS, {"semantic": 5})

    transport.down = False

    await eventually(lambda: heard == [MatchingWeights(semantic=5)])
    assert client.source(MATCHING_WEIGHTS) == "service"


async def test_an_unreadable_last_known_good_file_is_ignored(
        harness: ConfigHarness, clients: Callable[..., ConfigClient], tmp_path: Path) -> None:
    cache = tmp_path / "config-cache"
    cache.mkdir()
    (cache / "matching__weights.json").write_text('{"value": {"skills": ')
    (cache / "gateway__limits.json").write_text(json.dumps({"value": {"rate_per_org": 0}}))

    client = clients(None, cache)
    await client.start()

    assert client.get(MATCHING_WEIGHTS) == DEFAULT_WEIGHTS
    assert client.source(GATEWAY_LIMITS) == "default"


async def test_a_client_from_settings_without_a_url_reads_the_data_directorys_cache(tmp_path: Path) -> None:
    settings = config_settings(tmp_path)
    write_atomically(tmp_path / "config-cache" / "gateway__limits.json",
                     json.dumps({"key": "gateway/limits", "value": {"rate_per_user": 120}, "seq": 7}).encode())
    client = ConfigClient.from_settings(settings)

    await client.start()

    assert client.get(GATEWAY_LIMITS) == GatewayLimits(rate_per_user=120)
    assert client.known(GATEWAY_LIMITS).seq == 7
    assert client.source(MATCHING_WEIGHTS) == "default"
    await client.stop()


def test_files_are_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "matching__weights.json"
    write_atomically(target, b'{"value": 1}')
    write_atomically(target, b'{"value": 2}')

    assert json.loads(target.read_text()) == {"value": 2}
    assert [p.name for p in target.parent.iterdir()] == ["matching__weights.json"]  # no temporary left


# --- over HTTP -------------------------------------------------------------------------------------


async def test_the_http_transport_watches_a_served_config_service(
        harness: ConfigHarness, clients: Callable[..., ConfigClient]) -> None:
    served = ServedConfig(harness.settings, harness.issuer)
    await served.start()
    try:
        client = clients(HttpTransport(served.url))
        heard: list[GatewayLimits] = []
        client.on_change(GATEWAY_LIMITS, heard.append)
        await client.start()
        await set_global(harness, LIMITS, {"burst_seconds": 4.5})
        await eventually(lambda: heard == [GatewayLimits(burst_seconds=4.5)])
    finally:
        await served.stop()

    assert client.source(GATEWAY_LIMITS) == "service"


async def test_the_http_transport_reports_an_unreachable_service(tmp_path: Path) -> None:
    transport = HttpTransport("http://127.0.0.1:9")  # the discard port: nothing listens

    with pytest.raises(ConfigUnavailable):
        await transport.send(Call("/api/v1/config/watch", {}, {}, 2.0))
    await transport.close()
