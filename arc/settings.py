"""Service configuration, read from ``LIFELINE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """All knobs of the service. Unset database / MQTT URLs mean "embedded"."""

    model_config = SettingsConfigDict(env_prefix="LIFELINE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user:pass@host:5432/db; unset = embedded pgserver",
    )
    mqtt_url: str | None = Field(
        default=None, description="mqtt://user:pass@host:1883; unset = embedded amqtt"
    )
    mqtt_topic_root: str = "lifeline"
    mqtt_client_id: str = "lifeline-arc-ingest"
    mqtt_shared_group: str | None = Field(
        default=None, description="subscribe via $share/<group>/... so several processes split the load"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    timezone: str = "Europe/London"
    data_dir: Path = Path("var")
    heartbeat_interval_minutes: int = Field(default=60, ge=1, le=1440)
    heartbeat_grace_minutes: int = Field(default=10, ge=0, le=1440)
    priority_overrides: dict[str, int] = Field(
        default_factory=dict,
        description='JSON rule -> rank, e.g. {"dty:0033": 10}; see arc/alarms/priority.py',
    )
    log_level: str = "INFO"
    max_request_bytes: int = Field(default=1_048_576, ge=1024)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("LIFELINE_DATABASE_URL must be a PostgreSQL URL (postgresql://...)")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("LIFELINE_SECRET_KEY must be set to a private value outside development")
        if self.env == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("LIFELINE_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def topic(self, cid: str, leaf: str) -> str:
        return f"{self.mqtt_topic_root}/{cid}/{leaf}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
