"""Fixtures for the partner-API tests: apps with tight limits, clients from chosen IPs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from domain.clock import ManualClock
from main import create_app
from settings import ApiLimits
from tests.conftest import BASE_URL, test_settings, unique_ip

MakeApp = Callable[..., Starlette]


@pytest.fixture
def frozen_clock(clock: ManualClock) -> ManualClock:
    """Stopped at the session clock's now, so tokens it issued stay valid and buckets never
    refill during a test."""
    frozen = ManualClock()
    frozen.freeze(clock.now())
    return frozen


@pytest.fixture
def make_app(app: Starlette, db_url: str, frozen_clock: ManualClock) -> MakeApp:
    """Another app on the test database with its own ``ApiLimits`` (and a frozen clock).

    It shares the session app's database connections and does not run a lifespan of its own,
    so it starts no worker.
    """

    def make(**limits: Any) -> Starlette:
        settings = test_settings(db_url, api=ApiLimits(**limits), worker_enabled=False)
        return create_app(settings, clock=frozen_clock, bcrypt_rounds=4)

    return make


def client_of(app: Starlette, ip: str | None = None, **headers: str) -> httpx.AsyncClient:
    """A client of ``app`` calling from ``ip`` (a fresh documentation address by default)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip or unique_ip(), 50000)),
        base_url=BASE_URL, headers=headers,
    )
