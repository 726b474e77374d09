"""The monitor's own settings, read from `LOOMA_MONITOR_*` environment variables.

The fleet's settings (shared/config/settings.py) say where the gateway, the database and the data
directory are; these say how often to look and how hard to try when telling someone.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MonitorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOMA_MONITOR_", env_file=".env", extra="ignore")

    interval: float = Field(default=15.0, ge=0)  # seconds between evaluations; 0: no background loop
    window: float = Field(default=60.0, gt=0)  # seconds of traffic behind error rates and latency
    scrape_timeout: float = Field(default=2.0, gt=0)  # per request to an instance or the gateway
    scrape_concurrency: int = Field(default=16, ge=1)
    notify_timeout: float = Field(default=5.0, gt=0)  # one delivery attempt, connection included
    notify_attempts: int = Field(default=6, ge=1, le=20)  # attempts before a notification is given up
    notify_backoff: float = Field(default=2.0, gt=0)  # wait before the first retry; doubles each time
    notify_backoff_max: float = Field(default=300.0, gt=0)
    notify_concurrency: int = Field(default=4, ge=1)  # deliveries in flight at once
    retention: float = Field(default=7 * 86400, gt=0)  # resolved alerts and sent notifications are kept this long
