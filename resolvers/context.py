"""The typed per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from strawberry.exceptions import StrawberryGraphQLError

from db.loaders import Loaders
from domain.billing import Payments
from domain.clock import Clock
from domain.passwords import PasswordHasher
from domain.persisted_queries import MemoryQueryCache, QueryCache
from domain.principal import Principal, Role
from domain.rate_limit import MemoryRateLimiter, RateLimiter
from domain.sessions import ClientInfo, SessionPolicy, SignIn
from domain.uow import Effects, UnitOfWork
from observability.metrics import Metrics
from observability.tracing import OperationTracer
from settings import Settings

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

    from domain.live import EventBus


@dataclass(slots=True)
class Services:
    """The long-lived ports built once by ``main.create_app``; shared by every request."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    session_policy: SessionPolicy
    effects: Effects
    bus: EventBus
    payments: Payments
    extra: dict[str, Any] = field(default_factory=dict)
    # Partner-grade API (issue 8): main.create_app passes Redis-backed ones when REDIS_URL is set.
    metrics: Metrics = field(default_factory=Metrics)
    rate_limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    query_cache: QueryCache = field(default_factory=MemoryQueryCache)
    tracer: OperationTracer = field(default_factory=OperationTracer)


class AuthCookieWriter(Protocol):
    """Writes and clears the two essential auth cookies on the HTTP response (``web/cookies``)."""

    def set_sign_in(self, response: Response, sign_in: SignIn) -> None: ...

    def clear(self, response: Response) -> None: ...


def graphql_error(message: str, code: str, **extensions: Any) -> StrawberryGraphQLError:
    """A top-level GraphQL error with a stable ``extensions.code``."""
    return StrawberryGraphQLError(message, extensions={"code": code, **extensions})


@dataclass(slots=True)
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | None
    client: ClientInfo
    principal: Principal | None
    cookies: AuthCookieWriter
    loaders: Loaders = field(default_factory=Loaders)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    refresh_cookie: str | None = None
    connection_params: dict[str, Any] | None = None

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.services.effects)

    def require_principal(self) -> Principal:
        """The signed-in caller, or a typed UNAUTHENTICATED error."""
        if self.principal is None:
            raise graphql_error("Sign in to do this.", "UNAUTHENTICATED")
        return self.principal

    def require_role(self, *roles: Role) -> Principal:
        principal = self.require_principal()
        if principal.role not in roles:
            raise graphql_error("You are not allowed to do this.", "FORBIDDEN")
        return principal

    def require_scope(self, scope: str) -> Principal:
        principal = self.require_principal()
        if not principal.allows(scope):
            raise graphql_error(
                f"This API key lacks the '{scope}' scope.", "FORBIDDEN", scope=scope
            )
        return principal
