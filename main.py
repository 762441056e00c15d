"""The composition root: settings, database, bus, providers, worker and the ASGI app.

``uvicorn main:app`` serves the API; ``python main.py serve|worker|migrate|makemigrations|
export-schema`` are the commands. Nothing connects at import time: resources open in the
lifespan of the app built by ``create_app``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise import Tortoise

from db.config import tortoise_config
from db.migrate import apply_migrations, make_migrations
from domain.analysis_run import ANALYZE_JOB, AnalyzeCall
from domain.billing import Payments
from domain.calls import DIAL_JOB, Pricing
from domain.calls_dial import dial_handler
from domain.calls_reconcile import RECONCILE_JOB, reconcile_handler
from domain.clock import Clock, SystemClock
from domain.job_probe import PROBE_JOB, probe
from domain.jobs import JobHandler, Periodic, Worker
from domain.live import EventBus
from domain.notifications import SEND_JOB, send_handler
from domain.passwords import PasswordHasher
from domain.plan_scheduler import PLAN_CALL_JOB, SCHEDULE_JOB, plan_call, schedule_plan_calls
from domain.privacy_deletion import ERASE_RECORDINGS_JOB, erase_recordings_handler
from domain.privacy_export import EXPORT_JOB, ExportLinks, export_handler
from domain.retention import RETENTION_JOB, retention_handler
from domain.retention import RUN_EVERY as RETENTION_EVERY
from domain.sessions import SessionPolicy
from domain.tokens import AccessTokens
from domain.uow import Effects
from observability.logs import configure as configure_logging
from observability.metrics import Metrics
from observability.tracing import OperationTracer
from providers.bus_memory import MemoryBus
from providers.claude import ClaudeAnalyzer
from providers.email import build_email_sender
from providers.google import GoogleOidc
from providers.stripe import StripeGateway
from providers.vapi import VapiDialer
from resolvers.context import Services
from schema.contract import sorted_sdl
from schema.root import schema
from settings import Settings
from web import checkout_return
from web.body_limit import BodyLimit
from web.exports import export_routes
from web.google_auth import OAUTH_COOKIE, OAUTH_COOKIE_MAX_AGE, google_routes
from web.graphql import GraphQLApp
from web.health import healthz, readyz
from web.metrics import metrics_route
from web.webhook_metrics import WebhookMetrics
from web.ws_direct import DirectWebSocketStarlette
from webhooks.stripe import stripe_webhook_routes
from webhooks.vapi import vapi_webhook_routes

logger = logging.getLogger("callfluently")

HttpClientFactory = Callable[[], httpx.AsyncClient]


@dataclass(slots=True)
class Runtime:
    """Everything the lifespan opens and closes; tests reach the worker and clock through it."""

    settings: Settings
    services: Services
    worker: Worker
    http_client: HttpClientFactory
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)


def default_http_client(settings: Settings) -> HttpClientFactory:
    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))

    return make


def build_bus(settings: Settings) -> EventBus:
    """Redis pub/sub when ``REDIS_URL`` is set (several processes), else in-process."""
    if settings.redis_url:
        from providers.bus_redis import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryBus()


def build_payments(settings: Settings, gateway: StripeGateway) -> Payments:
    """Stripe (or its sandbox twin, via ``STRIPE_API_BASE``) plus the top-up rules."""
    return Payments(
        gateway=gateway,
        currency=settings.currency,
        top_up_min_minor=settings.top_up_min_minor,
        top_up_max_minor=settings.top_up_max_minor,
        public_base_url=settings.public_base_url,
    )


def build_call_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The calls domain's jobs: dialling VAPI, and reconciling calls whose webhooks never came."""
    settings, effects = runtime.settings, runtime.services.effects
    dialer = VapiDialer(settings, runtime.http_client)
    pricing = Pricing(price_per_minute_minor=settings.price_per_minute_minor,
                      currency=settings.currency)
    return {
        DIAL_JOB: dial_handler(effects=effects, dialer=dialer),
        RECONCILE_JOB: reconcile_handler(effects=effects, dialer=dialer, pricing=pricing),
    }


def build_analysis_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The analysis domain's job: a call's transcript to Claude (or its sandbox twin)."""
    settings, services = runtime.settings, runtime.services
    analyzer = ClaudeAnalyzer(
        api_key=str(settings.anthropic_api_key or ""),
        base_url=settings.anthropic_base_url,
        model=settings.anthropic_model,
        http_client=runtime.http_client,
    )
    return {ANALYZE_JOB: AnalyzeCall(analyzer=analyzer, effects=services.effects,
                                     clock=services.clock)}


def build_api_ports(settings: Settings) -> dict[str, Any]:
    """Metrics, optional tracing, and the rate limiter and APQ cache (in Redis with REDIS_URL,
    so limits and cached documents hold across processes; in memory otherwise)."""
    ports: dict[str, Any] = {
        "metrics": Metrics(multiproc_dir=settings.prometheus_multiproc_dir),
        "tracer": OperationTracer.configure(endpoint=settings.otel_endpoint,
                                            service_name="callfluently"),
    }
    if settings.redis_url:
        from redis.asyncio import Redis

        from providers.query_cache_redis import RedisQueryCache
        from providers.rate_limit_redis import RedisRateLimiter

        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        ports["rate_limiter"] = RedisRateLimiter(redis, settings.redis_prefix)
        ports["query_cache"] = RedisQueryCache(redis, settings.redis_prefix,
                                               settings.api.apq_ttl_s)
    return ports


def build_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """Job kind -> handler, each closed over the ports it needs."""
    settings, services = runtime.settings, runtime.services
    pricing = Pricing(price_per_minute_minor=settings.price_per_minute_minor,
                      currency=settings.currency)
    return {
        SCHEDULE_JOB: schedule_plan_calls(effects=services.effects),
        PLAN_CALL_JOB: plan_call(effects=services.effects, pricing=pricing),
        PROBE_JOB: probe(clock=services.clock),
        **build_call_handlers(runtime),
        **build_analysis_handlers(runtime),
        **build_privacy_handlers(runtime),
    }


def build_privacy_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """Privacy jobs: exports, recording deletion at VAPI, the email outbox, daily retention."""
    settings, effects = runtime.settings, runtime.services.effects
    links = ExportLinks.from_secret(str(settings.jwt_secret), base_url=settings.public_base_url)
    sender = build_email_sender(
        smtp_url=str(settings.smtp_url) if settings.smtp_url else None,
        sender=settings.email_from, outbox_dir=settings.outbox_dir,
    )
    return {
        EXPORT_JOB: export_handler(effects=effects, links=links),
        ERASE_RECORDINGS_JOB: erase_recordings_handler(
            effects=effects, eraser=VapiDialer(settings, runtime.http_client)),
        SEND_JOB: send_handler(sender=sender),
        RETENTION_JOB: retention_handler(effects=effects),
    }


#: Diagnostic kinds a worker runs only where ``WORKER_KINDS`` names them.
OPT_IN_KINDS = frozenset({PROBE_JOB})


def select_handlers(
    handlers: dict[str, JobHandler], kinds: tuple[str, ...]
) -> dict[str, JobHandler]:
    """The handlers this process runs: ``WORKER_KINDS``, or every non-diagnostic kind."""
    if not kinds:
        return {kind: h for kind, h in handlers.items() if kind not in OPT_IN_KINDS}
    if unknown := sorted(set(kinds) - handlers.keys()):
        logger.warning("WORKER_KINDS names unknown job kinds", extra={"kinds": unknown})
    return {kind: h for kind, h in handlers.items() if kind in kinds}


def build_periodic(settings: Settings) -> tuple[Periodic, ...]:
    return (
        Periodic(SCHEDULE_JOB, timedelta(minutes=1)),
        Periodic(RECONCILE_JOB, timedelta(minutes=1)),
        Periodic(RETENTION_JOB, RETENTION_EVERY),
    )


def sandbox_routes(settings: Settings, http_client: HttpClientFactory) -> list[Mount]:
    """Mount the local twin of every provider that has no key (see ``settings.sandboxes``)."""
    if not settings.sandboxes:
        return []
    from sandbox import SandboxContext

    ctx = SandboxContext(
        public_base_url=settings.public_base_url,
        http_client=http_client,
        vapi_webhook_secret=str(settings.vapi_webhook_secret or ""),
        stripe_webhook_secret=str(settings.stripe_webhook_secret or ""),
        speed=settings.sandbox_speed,
        google_client_id=settings.google_client_id or "",
        google_client_secret=str(settings.google_client_secret or ""),
    )
    routes: list[Mount] = []
    for name in sorted(settings.sandboxes):
        module = __import__(f"sandbox.{name}", fromlist=["create_app"])
        routes.append(Mount(f"/sandbox/{name}", app=module.create_app(ctx), name=f"sandbox-{name}"))
    return routes


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http_client: HttpClientFactory | None = None,
    bcrypt_rounds: int = 12,
    settle_heap: bool = False,
) -> Starlette:
    """Build the ASGI app for ``settings``; resources are opened by its lifespan.

    ``settle_heap`` (the served app, not tests) tunes the garbage collector once started: see
    ``settle_garbage_collector``.
    """
    settings = settings.with_sandbox_defaults()
    clock = clock or SystemClock()
    http_client = http_client or default_http_client(settings)
    bus = build_bus(settings)
    stripe_gateway = StripeGateway(
        api_key=str(settings.stripe_api_key or ""),
        api_base=settings.stripe_api_base,
        http_client=http_client,
    )
    worker = Worker(handlers={}, clock=clock, periodic=build_periodic(settings),
                    poll_s=settings.worker_poll_s, lease=timedelta(seconds=settings.job_lease_s))
    services = Services(
        settings=settings,
        clock=clock,
        hasher=PasswordHasher(bcrypt_rounds),
        session_policy=SessionPolicy(
            tokens=AccessTokens(str(settings.jwt_secret),
                                timedelta(seconds=settings.access_token_ttl_s)),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_s),
        ),
        effects=Effects(publisher=bus, jobs=worker),
        bus=bus,
        **build_api_ports(settings),
        payments=build_payments(settings, stripe_gateway),
    )
    runtime = Runtime(settings=settings, services=services, worker=worker,
                      http_client=http_client)
    worker.handlers.update(select_handlers(build_handlers(runtime), settings.worker_kinds))
    graphql = GraphQLApp(
        services,
        schema=schema,
        graphql_ide="graphiql",
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await apply_migrations(settings.database_url)
        await Tortoise.init(config=tortoise_config(settings.database_url),
                            _enable_global_fallback=True)
        await bus.start()
        # Starlette does not run a mounted app's lifespan; the sandboxes need theirs to stop
        # their background playback cleanly.
        async with _running(runtime, bus), contextlib.AsyncExitStack() as stack:
            for mount in sandboxes:
                sub = mount.app
                if isinstance(sub, Starlette):
                    await stack.enter_async_context(sub.router.lifespan_context(sub))
            if settle_heap:
                settle_garbage_collector()
            yield

    @contextlib.asynccontextmanager
    async def _running(runtime: Runtime, bus: EventBus) -> AsyncIterator[None]:
        if settings.worker_enabled:
            runtime.tasks.append(asyncio.create_task(worker.run(), name="job-worker"))
        try:
            yield
        finally:
            worker.stop()
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await bus.stop()
            for client in runtime.clients:
                await client.aclose()
            await stripe_gateway.aclose()
            await Tortoise.close_connections()

    sandboxes = sandbox_routes(settings, http_client)
    routes: list[BaseRoute] = [
        Route("/graphql", BodyLimit(graphql, settings.api.max_body_bytes),
              methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        *checkout_return.ROUTES,
        Route("/readyz", readyz),
        metrics_route(services.metrics, clock),
        *vapi_webhook_routes(services),
        *stripe_webhook_routes(services),
        *export_routes(services),
        *google_routes(services, GoogleOidc(settings, http_client), graphql.cookies),
        *sandboxes,
    ]
    middleware: list[Middleware] = [
        Middleware(WebhookMetrics, metrics=services.metrics, providers=("stripe", "vapi")),
        Middleware(
            SessionMiddleware,
            secret_key=hashlib.sha256(
                b"oauth-state:" + str(settings.jwt_secret).encode()
            ).hexdigest(),
            session_cookie=OAUTH_COOKIE,
            max_age=OAUTH_COOKIE_MAX_AGE,
            same_site="lax",
            https_only=settings.secure_cookies,
        ),
    ]
    # WebSocket /graphql skips the middleware above (web/ws_direct.py: memory per subscriber).
    app = DirectWebSocketStarlette(routes=routes, middleware=middleware, lifespan=lifespan,
                                   direct_websockets={"/graphql": graphql})
    app.state.runtime = runtime
    return app


def _configure_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)


def settle_garbage_collector() -> None:
    """Keep full garbage collections from stalling live connections.

    With 2,000 subscriptions open, each full collection walked the start-up heap (modules, the
    schema) plus every connection's objects and stalled the process for 0.2-0.6 s, which was
    the p99 of event delivery (bench/ fan-out). Freezing what start-up built takes it out of
    every collection, and higher thresholds make full collections rare; reference counting
    still frees almost everything as soon as it is dropped.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 1_000)


def _app_from_env() -> Starlette:
    settings = Settings.from_env()
    _configure_logging(settings)
    return create_app(settings, settle_heap=True)


class _LazyApp:
    """``uvicorn main:app`` target: builds the app from the environment on first use."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = _app_from_env()
        await self._app(scope, receive, send)


app = _LazyApp()


async def _run_worker(settings: Settings) -> None:
    """A standalone worker process: same handlers, no HTTP."""
    built = create_app(settings)
    runtime: Runtime = built.state.runtime
    await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    await runtime.services.bus.start()
    try:
        await runtime.worker.run()
    finally:
        await runtime.services.bus.stop()
        await Tortoise.close_connections()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="callfluently")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("worker", help="run a job worker process")
    sub.add_parser("migrate", help="apply database migrations")
    mk = sub.add_parser("makemigrations", help="write migrations for model changes")
    mk.add_argument("--name", default=None)
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    _configure_logging(settings)
    if args.command == "serve":
        import os

        import uvicorn

        # The sandboxes and redirects hang off PUBLIC_BASE_URL: default it to where we listen.
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
        # Every worker process must sign and check tokens with the same key.
        os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(32))

        # No permessage-deflate: its zlib state cost ~50 KB per idle subscription (bench/),
        # for subscription messages of a few hundred bytes. wsproto rather than websockets'
        # sans-I/O protocol: ~3.5 KB less per idle connection (it keeps fewer handshake
        # objects and queues), same ping, size limit and close handling.
        uvicorn.run("main:app", host=args.host, port=args.port, workers=args.workers,
                    proxy_headers=True, ws="wsproto", ws_per_message_deflate=False,
                    log_config=None)
    elif args.command == "worker":
        asyncio.run(_run_worker(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "makemigrations":
        asyncio.run(make_migrations(settings.database_url, args.name))
    elif args.command == "export-schema":
        print(sorted_sdl(schema), end="")  # noqa: T201 - the command's output


async def _migrate(settings: Settings) -> None:
    await apply_migrations(settings.database_url)
    await Tortoise.close_connections()


if __name__ == "__main__":
    main()
