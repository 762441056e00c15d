"""Test harness: one app per session, on PostgreSQL or SQLite (``DATABASE_URL``), with every
provider served by its sandbox twin through an in-process transport.

Tests drive the public surface (GraphQL over HTTP/WebSocket, webhooks) and use unique data, so
they share one migrated database instead of truncating between tests.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.datastructures import Secret

from db.scratch import create_scratch, drop_scratch
from domain.clock import ManualClock
from main import Runtime, create_app
from settings import Settings

BASE_URL = "http://testserver"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/test"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    path = os.path.join(tempfile.mkdtemp(prefix="cf-test-"), "test.db")
    return f"sqlite://{path}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.postgres_only`` tests are skipped unless DATABASE_URL is PostgreSQL."""
    if is_postgres(os.environ.get("DATABASE_URL", "")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if item.get_closest_marker("postgres_only") is not None:
            item.add_marker(skip)


SCRATCH_PREFIX = "cf_test_"


async def create_scratch_database(url: str) -> str:
    """A fresh, empty database next to ``url`` for this run (see ``db/scratch.py``)."""
    return await create_scratch(url, SCRATCH_PREFIX)


async def drop_database(admin_url: str, url: str) -> None:
    await drop_scratch(admin_url, url, SCRATCH_PREFIX)


def test_settings(db_url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=db_url,
        public_base_url=BASE_URL,
        allowed_origins=(BASE_URL,),
        jwt_secret=Secret("test-jwt-secret-" + "x" * 32),
        worker_poll_s=0.05,
        sandbox_speed=0.0,
        outbox_dir=tempfile.mkdtemp(prefix="cf-outbox-"),
    )
    for key, value in overrides.items():
        object.__setattr__(base, key, value)
    return base


@pytest.fixture(scope="session")
async def db_url() -> AsyncIterator[str]:
    url = database_url()
    if not is_postgres(url):
        yield url
        return
    scratch = await create_scratch_database(url)
    yield scratch
    await drop_database(url, scratch)


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
async def app(db_url: str, clock: ManualClock) -> AsyncIterator[Starlette]:
    holder: dict[str, Starlette] = {}

    def outbound() -> httpx.AsyncClient:
        # Provider SDKs and sandboxes reach the service (and each other) in-process.
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=holder["app"]), base_url=BASE_URL, timeout=30
        )

    application = create_app(test_settings(db_url), clock=clock, http_client=outbound,
                             bcrypt_rounds=4)
    holder["app"] = application
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30):
        yield application


@pytest.fixture(scope="session")
def runtime(app: Starlette) -> Runtime:
    return app.state.runtime  # type: ignore[no-any-return]


def unique_ip() -> str:
    """A documentation-range address per simulated browser, so per-IP limits stay per test."""
    n = uuid.uuid4().int
    return f"198.{18 + n % 2}.{(n >> 8) % 256}.{(n >> 16) % 254 + 1}"


def browser_transport(app: Starlette, ip: str | None = None) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app, client=(ip or unique_ip(), 50000))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=browser_transport(app), base_url=BASE_URL,
        headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"},
    ) as c:
        yield c


@pytest.fixture
def new_client(app: Starlette) -> Callable[[], httpx.AsyncClient]:
    """Another browser: its own cookie jar."""

    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=browser_transport(app), base_url=BASE_URL)

    return make


GQL = Callable[..., Awaitable[dict[str, Any]]]


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    expect_errors: bool = False,
) -> dict[str, Any]:
    """POST a GraphQL document; returns the whole response body (data and errors)."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if not expect_errors:
        assert "errors" not in body, body
    return body


def unique_email(prefix: str = "learner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@Example.com"


REGISTER = """
mutation Register($input: RegisterInput!, $delivery: TokenDelivery! = COOKIE) {
  register(input: $input, tokenDelivery: $delivery) {
    __typename
    ... on SignInPayload {
      accessToken refreshToken user { id email phone fullName } session { id }
    }
    ... on RegisterError { code message field }
  }
}
"""


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    phone: str = "+447911123456",
    password: str = "correct horse battery",
    full_name: str = "Ada Learner",
    delivery: str = "COOKIE",
) -> dict[str, Any]:
    """Register a learner with ``client`` (which then holds their cookies)."""
    body = await gql(client, REGISTER, {
        "input": {"fullName": full_name, "email": email or unique_email(), "phone": phone,
                  "password": password},
        "delivery": delivery,
    })
    result: dict[str, Any] = body["data"]["register"]
    return result
