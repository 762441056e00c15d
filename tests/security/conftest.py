"""The attack reproductions of issue 13 reuse the API tests' per-test app factory."""

from tests.api.conftest import frozen_clock, make_app

__all__ = ["frozen_clock", "make_app"]
