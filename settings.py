"""Settings read once from the environment (design.md section 7).

A provider whose key is unset is served by its sandbox twin, mounted under ``/sandbox/<provider>``
on this same service, so a fresh checkout runs end to end with no keys at all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Self

from starlette.datastructures import Secret

SANDBOX_KEY_PREFIX = "sandbox_"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in env.get(name, default).split(",") if p.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root needs; nothing else reads the environment."""

    database_url: str = "sqlite://./callfluently.db"
    redis_url: str | None = None
    jwt_secret: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(32)))
    public_base_url: str = "http://127.0.0.1:8000"
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    currency: str = "USD"
    price_per_minute_minor: int = 20
    top_up_min_minor: int = 500
    top_up_max_minor: int = 50_000
    vapi_api_key: Secret | None = None
    vapi_base_url: str | None = None
    vapi_phone_number_id: str = "sandbox-phone-number"
    vapi_assistant_id: str | None = None
    vapi_webhook_secret: Secret | None = None
    #: A VAPI webhook credential (HMAC or Bearer plan holding VAPI_WEBHOOK_SECRET); unset, the
    #: dial sends the secret as an ``X-Vapi-Secret`` server header instead.
    vapi_webhook_credential_id: str | None = None
    #: That credential's HMAC plan as JSON (VAPI's field names); unset: VAPI's defaults.
    vapi_webhook_hmac_plan: str | None = None
    stripe_api_key: Secret | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: Secret | None = None
    anthropic_api_key: Secret | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-4-6"
    google_client_id: str | None = None
    google_client_secret: Secret | None = None
    google_metadata_url: str | None = None
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    worker_enabled: bool = True
    worker_poll_s: float = 0.5
    #: Job kinds this process's worker runs; empty means every kind except diagnostics (probe).
    worker_kinds: tuple[str, ...] = ()
    #: How long a claimed job is leased; a crashed worker's job runs again after this.
    job_lease_s: float = 120.0
    sandbox_speed: float = 1.0
    log_level: str = "INFO"
    #: Email: ``SMTP_URL`` (smtp://user:pass@host:587 or smtps://…) or, unset, ``.eml`` files
    #: written under ``OUTBOX_DIR``.
    smtp_url: Secret | None = None
    email_from: str = "CallFluently <privacy@callfluently.com>"
    outbox_dir: str = "var/outbox"
    log_format: str = "json"
    redis_prefix: str = "cf:"
    #: Live subscriptions: events buffered per subscriber before it is cut off as too slow,
    #: and the graphql-transport-ws keep-alive ping interval (0 turns pings off).
    live_queue_size: int = 1000
    ws_keepalive_s: float = 15.0
    otel_endpoint: str | None = None
    prometheus_multiproc_dir: str | None = None
    api: ApiLimits = field(default_factory=lambda: ApiLimits())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Read settings from the environment; unset keys keep the embedded defaults."""
        env = os.environ if env is None else env

        def secret(name: str) -> Secret | None:
            value = env.get(name)
            return Secret(value) if value else None

        base = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or base.database_url,
            redis_url=env.get("REDIS_URL") or None,
            jwt_secret=secret("JWT_SECRET") or base.jwt_secret,
            public_base_url=(env.get("PUBLIC_BASE_URL") or base.public_base_url).rstrip("/"),
            allowed_origins=_list(env, "ALLOWED_ORIGINS", ",".join(base.allowed_origins)),
            currency=(env.get("CURRENCY") or base.currency).upper(),
            price_per_minute_minor=_int(env, "PRICE_PER_MINUTE_MINOR", base.price_per_minute_minor),
            top_up_min_minor=_int(env, "TOP_UP_MIN_MINOR", base.top_up_min_minor),
            top_up_max_minor=_int(env, "TOP_UP_MAX_MINOR", base.top_up_max_minor),
            vapi_api_key=secret("VAPI_API_KEY"),
            vapi_base_url=env.get("VAPI_BASE_URL") or None,
            vapi_phone_number_id=env.get("VAPI_PHONE_NUMBER_ID") or base.vapi_phone_number_id,
            vapi_assistant_id=env.get("VAPI_ASSISTANT_ID") or None,
            vapi_webhook_secret=secret("VAPI_WEBHOOK_SECRET"),
            vapi_webhook_credential_id=env.get("VAPI_WEBHOOK_CREDENTIAL_ID") or None,
            vapi_webhook_hmac_plan=env.get("VAPI_WEBHOOK_HMAC_PLAN") or None,
            stripe_api_key=secret("STRIPE_API_KEY"),
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            stripe_webhook_secret=secret("STRIPE_WEBHOOK_SECRET"),
            anthropic_api_key=secret("ANTHROPIC_API_KEY"),
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL") or None,
            anthropic_model=env.get("ANTHROPIC_MODEL") or base.anthropic_model,
            google_client_id=env.get("GOOGLE_CLIENT_ID") or None,
            google_client_secret=secret("GOOGLE_CLIENT_SECRET"),
            google_metadata_url=env.get("GOOGLE_METADATA_URL") or None,
            worker_enabled=env.get("WORKER_ENABLED", "1") not in ("0", "false", "no"),
            worker_poll_s=float(env.get("WORKER_POLL_S") or base.worker_poll_s),
            worker_kinds=_list(env, "WORKER_KINDS", ""),
            job_lease_s=float(env.get("JOB_LEASE_S") or base.job_lease_s),
            sandbox_speed=float(env.get("SANDBOX_SPEED") or base.sandbox_speed),
            log_level=env.get("LOG_LEVEL") or base.log_level,
            smtp_url=secret("SMTP_URL"),
            email_from=env.get("EMAIL_FROM") or base.email_from,
            outbox_dir=env.get("OUTBOX_DIR") or base.outbox_dir,
            log_format=env.get("LOG_FORMAT") or base.log_format,
            redis_prefix=env.get("REDIS_PREFIX") or base.redis_prefix,
            live_queue_size=_int(env, "LIVE_QUEUE_SIZE", base.live_queue_size),
            ws_keepalive_s=float(env.get("WS_KEEPALIVE_S") or base.ws_keepalive_s),
            otel_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            api=ApiLimits.from_env(env),
        )

    def with_sandbox_defaults(self) -> Self:
        """Fill every unset provider setting with its local sandbox twin.

        The sandboxes are mounted on this service, so their base URLs hang off PUBLIC_BASE_URL.
        Webhook secrets get fixed sandbox values so that the sandbox can sign what it sends.
        """
        sb = f"{self.public_base_url}/sandbox"
        return replace(
            self,
            vapi_api_key=self.vapi_api_key or Secret(SANDBOX_KEY_PREFIX + "vapi"),
            vapi_base_url=self.vapi_base_url or (None if self.vapi_api_key else f"{sb}/vapi"),
            vapi_webhook_secret=self.vapi_webhook_secret or Secret("sandbox-vapi-webhook-secret"),
            stripe_api_key=self.stripe_api_key
            or Secret("sk_test_" + SANDBOX_KEY_PREFIX + "stripe"),
            stripe_api_base=self.stripe_api_base
            or (None if self.stripe_api_key else f"{sb}/stripe"),
            stripe_webhook_secret=self.stripe_webhook_secret
            or Secret("whsec_sandbox_stripe_webhook_secret"),
            anthropic_api_key=self.anthropic_api_key
            or Secret(SANDBOX_KEY_PREFIX + "anthropic"),
            anthropic_base_url=self.anthropic_base_url
            or (None if self.anthropic_api_key else f"{sb}/anthropic"),
            google_client_id=self.google_client_id or "sandbox-google-client",
            google_client_secret=self.google_client_secret
            or Secret("sandbox-google-client-secret"),
            google_metadata_url=self.google_metadata_url
            or (
                None
                if self.google_client_id
                else f"{sb}/google/.well-known/openid-configuration"
            ),
        )

    @property
    def vapi_url(self) -> str:
        return (self.vapi_base_url or "https://api.vapi.ai").rstrip("/")

    @property
    def google_discovery_url(self) -> str:
        return self.google_metadata_url or (
            "https://accounts.google.com/.well-known/openid-configuration"
        )

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

    @property
    def sandboxes(self) -> frozenset[str]:
        """Which providers are served by the sandbox mounted on this service."""
        prefix = f"{self.public_base_url}/sandbox/"
        urls = {
            "vapi": self.vapi_base_url,
            "stripe": self.stripe_api_base,
            "anthropic": self.anthropic_base_url,
            "google": self.google_metadata_url,
        }
        return frozenset(name for name, url in urls.items() if url and url.startswith(prefix))

    @property
    def secure_cookies(self) -> bool:
        return self.public_base_url.startswith("https://")


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """What the public API lets one caller do (issue 8). Each limit answers with a typed error."""

    max_depth: int = 12
    max_tokens: int = 4000
    max_aliases: int = 30
    max_cost: int = 25_000
    max_body_bytes: int = 1_000_000
    #: Per graphql-transport-ws connection; enforced by the live-subscriptions handler.
    max_subscriptions_per_connection: int = 20
    #: Token buckets: a full minute's allowance may be spent at once, then it refills evenly.
    rate_per_minute_user: int = 600
    rate_per_minute_api_key: int = 600
    rate_per_minute_ip: int = 3000
    rate_limit_enabled: bool = True
    #: Only documents in the persisted-query registry run, for every caller (not only
    #: production API keys, which are always restricted to it).
    persisted_queries_only: bool = False
    apq_ttl_s: int = 24 * 3600
    parser_cache_size: int = 512

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiLimits:
        base = cls()
        return cls(
            max_depth=_int(env, "MAX_QUERY_DEPTH", base.max_depth),
            max_tokens=_int(env, "MAX_QUERY_TOKENS", base.max_tokens),
            max_aliases=_int(env, "MAX_QUERY_ALIASES", base.max_aliases),
            max_cost=_int(env, "MAX_QUERY_COST", base.max_cost),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", base.max_body_bytes),
            max_subscriptions_per_connection=_int(
                env, "MAX_SUBSCRIPTIONS_PER_CONNECTION", base.max_subscriptions_per_connection
            ),
            rate_per_minute_user=_int(
                env, "RATE_LIMIT_USER_PER_MINUTE", base.rate_per_minute_user
            ),
            rate_per_minute_api_key=_int(
                env, "RATE_LIMIT_API_KEY_PER_MINUTE", base.rate_per_minute_api_key
            ),
            rate_per_minute_ip=_int(env, "RATE_LIMIT_IP_PER_MINUTE", base.rate_per_minute_ip),
            rate_limit_enabled=env.get("RATE_LIMIT_ENABLED", "1") not in ("0", "false", "no"),
            persisted_queries_only=env.get("PERSISTED_QUERIES_ONLY", "0") in ("1", "true", "yes"),
            apq_ttl_s=_int(env, "APQ_TTL_SECONDS", base.apq_ttl_s),
        )
