"""Service configuration, read from ``LIFELINE_*`` environment variables."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arc.kit.roles import ROLES

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
    simulator_mqtt_url: str | None = Field(
        default=None,
        description="the demo's simulated fleet logs in with this (its own login); unset = LIFELINE_MQTT_URL; "
        "set by `lifeline demo` for its embedded broker",
    )
    mqtt_client_id: str | None = Field(
        default=None,
        description="client id of the ingest's persistent session; unset = derived from the secret key "
        "(stable, not guessable); a broker must still tie client ids to users (docs/security.md)",
    )
    mqtt_answers_url: str | None = Field(
        default=None,
        description="a second broker connection (mqtt://login:pass@host:port, its own login where the broker "
        "ties client ids to usernames) that carries alarms' answers only: in a storm the ingest's own "
        "connection has thousands of heartbeats' answers queued ahead of an alarm's HOLD, read by the broker "
        "in order (docs/performance.md); unset = every answer on the ingest's connection",
    )
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
    # --- unit ingest (arc/ingest) ---
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = Field(
        default="auto",
        description="MQTT version of the ingest client; auto tries 5 and falls back to 3.1.1 (amqtt)",
    )
    mqtt_session_expiry_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="MQTT 5 session expiry: how long the broker keeps queuing for a stopped ingest",
    )
    mqtt_shared_session_expiry_seconds: int = Field(
        default=0,
        ge=0,
        description="MQTT 5 session expiry of a process in a shared group (LIFELINE_MQTT_SHARED_GROUP): "
        "0 = the broker ends a dead member's session at once, so new alarms go to the survivors and "
        "what the dead one held returns by the unit's retransmission (docs/reliability.md)",
    )
    mqtt_heartbeat_answer_qos: int = Field(
        default=1,
        ge=0,
        le=1,
        description="QoS of a heartbeat's answer. 1, as the unit protocol says (shared/PROTOCOL.md: ARC to "
        "unit at QoS 1). 0 spares the ingest the broker's PUBACK for every heartbeat answer (about a third "
        "of the MQTT client's work per heartbeat); a lost answer then costs the unit one retransmission, "
        "answered from the inbox — only with the unit vendor's agreement. Every other answer stays at 1",
    )
    mqtt_receive_maximum: int = Field(
        default=65535,
        ge=1,
        le=65535,
        description="MQTT 5: unacknowledged messages the broker may send us. Large, so that under load "
        "the queue is ours (where heartbeats are shed and alarms jump it), not the broker's (where an "
        "alarm waits its turn behind every heartbeat); the ingest's own caps bound what it holds",
    )
    ingest_batch_max: int = Field(
        default=200, ge=1, le=5000, description="most messages stored in one transaction"
    )
    ingest_batch_wait_ms: float = Field(
        default=5.0, ge=0, le=1000, description="how long a batch waits for more messages before commit"
    )
    ingest_concurrency: int = Field(
        default=2, ge=1, le=16, description="batches stored at the same time (each on its own connection)"
    )
    ingest_max_backlog: int = Field(
        default=20_000,
        ge=0,
        description="messages waiting beyond this are answered snu 6 (busy) instead of being queued",
    )
    ingest_alarm_batch_max: int = Field(
        default=10,
        ge=1,
        le=5000,
        description="most fast-lane messages (alarms, statuses) in one transaction: each is triaged in "
        "turn and all are answered at its COMMIT, so a small batch gets the first of a burst out sooner",
    )
    ingest_shed_heartbeats_backlog: int = Field(
        default=20_000,
        ge=0,
        description="heartbeats waiting beyond this are always shed (snu 6, busy, with a raised hbi): "
        "the memory bound; alarms have their own lane, limited only by LIFELINE_INGEST_MAX_BACKLOG",
    )
    ingest_shed_after_seconds: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="a heartbeat that has waited longer than this when its turn comes is shed: its unit "
        "is already sending it again (arc/ingest/shedding.py)",
    )
    ingest_shed_queue_seconds: float = Field(
        default=1.0,
        gt=0,
        le=600,
        description="a heartbeat arriving while the oldest queued one has waited longer than this is shed "
        "at once: storing is not keeping up, and each heartbeat held is one the broker keeps in flight "
        "(Mosquitto walks that list for every PUBACK; arc/ingest/shedding.py)",
    )
    ingest_shed_hbi_minutes: int = Field(
        default=120, ge=1, le=1440, description="hbi sent with a shed heartbeat to units that accept one"
    )
    ingest_max_bytes: int = Field(default=8192, ge=256, description="largest mrq payload accepted (snu 1)")
    mqtt_max_packet_bytes: int = Field(
        default=66_560,
        ge=2048,
        le=268_435_460,
        description="MQTT 5 Maximum Packet Size the ingest announces: the broker never sends it bigger "
        "packets (65 KiB payload + headers, as deploy/mosquitto's max_packet_size); keep it above "
        "LIFELINE_INGEST_MAX_BYTES so an over-long request is still answered snu 1",
    )
    ingest_ref_reuse_minutes: int = Field(
        default=120,
        ge=1,
        description="a ref seen longer ago than this, whose alarm is closed, starts a new session (ref wrap)",
    )
    ingest_fault_pause_before_commit_s: float = Field(
        default=0.0,
        ge=0,
        description="TESTING ONLY: sleep this long before each ingest COMMIT (crash test); 0 = off",
    )
    close_on_reset: bool = Field(
        default=False,
        description="an RE from the unit closes its alarm if no operator has accepted it yet "
        "(default: keep it queued for an operator to confirm)",
    )
    inbox_retention_days: int = Field(
        default=90,
        ge=1,
        description="handled inbox messages that belong to no alarm (heartbeats, tests...) are deleted "
        "after this many days; messages of alarms are kept with the call history",
    )
    rejected_retention_days: int = Field(
        default=30, ge=1, description="rejected (unreadable) messages are deleted after this many days"
    )
    live_events_retention_days: int = Field(
        default=7,
        ge=1,
        description="dashboard events (the live stream's replay buffer, with names and postcodes in "
        "their payloads) are deleted after this many days",
    )
    no_comms_sweep_seconds: int = Field(default=60, ge=1, description="how often the no-comms sweep runs")
    scheduler_enabled: bool = Field(default=True, description="take part in the scheduler leader election")
    scheduler_lock_key: int = Field(
        default=0x11FE11E, description="PostgreSQL advisory lock key of the scheduler leader"
    )
    scheduler_retry_seconds: float = Field(
        default=5.0, gt=0, description="how often a follower tries to become the scheduler leader"
    )
    # --- read side: call histories, flags, reports (arc/history) ---
    read_database_url: str | None = Field(
        default=None, description="a read replica for TEC analytics; unset = the main database, read-only"
    )
    flag_evaluation_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="how often new activations are read for flags"
    )
    flag_sweep_seconds: int = Field(
        default=600, ge=10, le=86_400, description="how often flags are re-checked as time passes (clearing)"
    )
    log_level: str = "INFO"
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    # --- alarm handling: escalation and responder notifications (arc/dispatch) ---
    escalate_responder_after_seconds: int = Field(
        default=300, ge=10, le=86_400, description="a nominated responder not accepting by then: next in plan"
    )
    escalate_ers_after_seconds: int = Field(
        default=600, ge=10, le=86_400, description="an ERS job not accepted by then: next in plan (999)"
    )
    notify_webhook_url: str | None = Field(
        default=None, description="SMS/voice gateway webhook for responder requests; unset = log only"
    )
    notify_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key signing webhook requests (required with the URL)"
    )
    notify_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    dial_webhook_url: str | None = Field(
        default=None,
        description="click-to-dial gateway: 'call' on the alarm card also asks it to ring the number; "
        "unset = the call is only recorded (operators dial themselves)",
    )
    dial_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key signing click-to-dial requests (required with the URL)"
    )
    dial_timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="how long the click-to-dial gateway has to take a call"
    )

    # --- security (docs/security.md) ---
    data_key: SecretStr | None = Field(
        default=None, description="encrypts key-safe codes at rest; unset = derived from secret_key"
    )
    data_keys_retired: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of earlier data keys, readable until `lifeline keys rotate`",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="JSON list of exact browser origins allowed cross-site; [] = none"
    )
    browser_session_hours: int = Field(default=12, ge=1, le=24 * 7)
    api_token_days: int = Field(default=30, ge=1, le=365)
    tls_certfile: Path | None = Field(
        default=None, description="serve HTTPS with this certificate (PEM, chain first); with tls_keyfile"
    )
    tls_keyfile: Path | None = Field(default=None, description="the certificate's private key (PEM)")
    forwarded_allow_ips: str = Field(
        default="",
        description="comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto are "
        "believed (e.g. 10.0.0.5); empty = none, the client address is the TCP peer",
    )
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_ip_max_failures: int = Field(default=20, ge=1, le=10_000)
    login_ip_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    retention_days: int = Field(
        default=2192,
        ge=30,
        description="keep a withdrawn customer's personal data this long after withdrawal",
    )
    mosquitto_passwd_file: Path | None = None
    mosquitto_acl_file: Path | None = None
    broker_credentials: Literal["file", "dynsec"] = Field(
        default="file",
        description="where units' broker logins are written: 'file' = Mosquitto's password file and ACL "
        "(LIFELINE_MOSQUITTO_PASSWD_FILE/ACL_FILE, reload with kill -HUP), 'dynsec' = Mosquitto's dynamic "
        "security plugin, changed at once over MQTT by the admin login below",
    )
    dynsec_username: str = Field(
        default="arc-admin", description="the broker's dynamic-security admin login (broker_credentials=dynsec)"
    )
    dynsec_password: SecretStr | None = Field(
        default=None, description="its password (`lifeline units dynsec-init` makes one)"
    )
    mqtt_service_username: str = Field(
        default="arc",
        description="the service's broker login(s) written into the ACL, comma-separated: with Mosquitto "
        "each service process needs its own (client ids are tied to usernames)",
    )
    sip_realm: str = Field(
        default="lifeline",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Digest realm of the SIP edge (deploy/kamailio REALM); unit HA1s are made for it",
    )
    sip_gateway_username: str = Field(
        default="kamailio", description="broker login of the SIP edge (may write every mrq, read every mrs)"
    )
    demo_password: SecretStr | None = Field(
        default=None, description="password of the demo users; unset = generated and printed once"
    )
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer URL; unset = SSO off")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_url: str | None = Field(
        default=None, description="public URL of /auth/oidc/callback as registered with the issuer"
    )
    oidc_scopes: str = "openid profile email"
    oidc_role_claim: str = Field(default="roles", description="ID-token claim holding role or group names")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict, description='JSON claim value -> role, e.g. {"ARC-Operators": "operator"}'
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @field_validator("database_url", "read_database_url")
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

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*" or not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"CORS origin {origin!r} must be an exact scheme://host[:port], not a wildcard"
                )
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("LIFELINE_SECRET_KEY must be set to a private value outside development")
        if self.env == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("LIFELINE_SECRET_KEY must be at least 32 characters in production")
        if (
            self.env == "production"
            and self.data_key is not None
            and len(self.data_key.get_secret_value()) < 32
        ):
            raise ValueError("LIFELINE_DATA_KEY must be at least 32 characters in production")
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_redirect_url):
            raise ValueError("OIDC needs LIFELINE_OIDC_CLIENT_ID and LIFELINE_OIDC_REDIRECT_URL too")
        bad = {role for role in self.oidc_role_map.values() if role not in ROLES}
        if bad:
            raise ValueError(f"LIFELINE_OIDC_ROLE_MAP names unknown roles {sorted(bad)}")
        return self

    @model_validator(mode="after")
    def _private_client_id(self) -> Settings:
        """A unit must not be able to name the ingest's session: derive its id from the secret."""
        if self.mqtt_client_id is None:
            digest = hmac.new(
                self.secret_key.get_secret_value().encode(), b"lifeline mqtt ingest client id", hashlib.sha256
            ).hexdigest()
            self.mqtt_client_id = f"arc-ingest-{digest[:24]}"
        return self

    @model_validator(mode="after")
    def _answers_connection_has_its_own_login(self) -> Settings:
        """A broker that ties client ids to usernames (the shipped Mosquitto) would give both of the
        ingest's connections one client id, and each would take the other's session over in turn."""
        if self.mqtt_answers_url:
            answers = urlsplit(self.mqtt_answers_url).username
            if answers and answers == urlsplit(self.mqtt_url or "").username:
                raise ValueError(
                    "LIFELINE_MQTT_ANSWERS_URL needs a login of its own (not LIFELINE_MQTT_URL's): a broker"
                    " that ties client ids to usernames would make the two connections take each other over"
                )
        return self

    @model_validator(mode="after")
    def _packet_cap_above_message_cap(self) -> Settings:
        if self.mqtt_max_packet_bytes < self.ingest_max_bytes + 1024:
            raise ValueError("LIFELINE_MQTT_MAX_PACKET_BYTES must exceed LIFELINE_INGEST_MAX_BYTES by 1024+")
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("LIFELINE_TLS_CERTFILE and LIFELINE_TLS_KEYFILE go together")
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.dial_webhook_url and not self.dial_webhook_secret:
            raise ValueError("LIFELINE_DIAL_WEBHOOK_URL needs LIFELINE_DIAL_WEBHOOK_SECRET to sign requests")
        if self.notify_webhook_url and not self.notify_webhook_secret:
            raise ValueError(
                "LIFELINE_NOTIFY_WEBHOOK_URL needs LIFELINE_NOTIFY_WEBHOOK_SECRET to sign requests"
            )
        return self

    @model_validator(mode="after")
    def _dynsec_needs_its_login(self) -> Settings:
        if self.broker_credentials == "dynsec" and not self.dynsec_password:
            raise ValueError("LIFELINE_BROKER_CREDENTIALS=dynsec needs LIFELINE_DYNSEC_PASSWORD")
        return self

    @model_validator(mode="after")
    def _no_fault_injection_in_production(self) -> Settings:
        if self.env == "production" and self.ingest_fault_pause_before_commit_s:
            raise ValueError("LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S is for tests only")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def topic(self, cid: str, leaf: str) -> str:
        return f"{self.mqtt_topic_root}/{cid}/{leaf}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
