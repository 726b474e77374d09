"""Configuration applied while the fleet runs: a PUT to the config service changes the gateway's
rate limits within a second, and setting them back lifts the limit again. No restart."""

from __future__ import annotations

import time

import httpx

from tests.e2e.fleet import Fleet


def test_the_gateway_applies_new_limits_from_the_config_service_without_a_restart(fleet: Fleet) -> None:
    admin = {"Authorization": f"Bearer {fleet.login()['access_token']}"}
    url = f"{fleet.gateway}/api/v1/config/gateway/limits"

    def throttled() -> bool:
        statuses = [httpx.get(f"{fleet.gateway}/api/v1/talents", headers=admin).status_code for _ in range(4)]
        return 429 in statuses

    assert not throttled()
    response = httpx.put(url, params={"scope": "global"}, headers=admin,
                         json={"value": {"rate_per_user": 120, "burst_seconds": 1}, "reason": "a limit test"})
    assert response.status_code == 200, response.text
    took = fleet.wait_until(throttled, 5, "the gateway to apply the new per-user limit")
    assert took < 2.0
    refused = httpx.get(f"{fleet.gateway}/api/v1/talents", headers=admin)
    if refused.status_code == 429:
        assert refused.headers["ratelimit-policy"] == "120;w=60"

    time.sleep(1.1)  # a burst of 2 refills in 1 s: the PUT that lifts the limit must itself get through
    response = httpx.put(url, params={"scope": "global"}, headers=admin, json={"value": {}, "reason": "back to settings"})
    assert response.status_code == 200, response.text
    fleet.wait_until(lambda: not throttled(), 5, "the gateway to go back to its settings")
