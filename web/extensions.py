"""The schema-wide machinery of the public API: extension order and error logging.

Order matters. ``Observe`` is outermost so it measures and logs every outcome. The validation
cache runs before the ``on_validate`` checks, which read its result and then add request errors
(limits, key scopes, allow-list, rate limit) that replace execution. ``MaskErrors`` (added by
``schema/root.py``) stays last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.types import ExecutionContext

from web.api_key_gate import ApiKeyGate
from web.errors import is_expected_error
from web.observe import Observe
from web.persisted_queries import AllowList
from web.query_limits import QueryLimits
from web.rate_limit import RateLimit

logger = logging.getLogger("callfluently.graphql")

VALIDATION_CACHE_SIZE = 512


def api_extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories for the per-request extensions, in order (``MaskErrors`` goes after them)."""
    return [
        Observe,
        lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        QueryLimits,
        ApiKeyGate,
        AllowList,
        RateLimit,
    ]


class ApiSchema(strawberry.Schema):
    """Logs unexpected errors once, with the request id; expected ones are answers, not news."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if is_expected_error(error):
                continue
            original: Any = error.original_error
            logger.error(
                "unexpected error",
                extra={"path": ".".join(str(p) for p in error.path or ()) or None},
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
