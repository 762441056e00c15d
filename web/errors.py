"""Which GraphQL errors reach clients as they are; everything else is masked and logged."""

from __future__ import annotations

from graphql import GraphQLError

#: Codes we raise on purpose (``extensions.code``); their messages are safe to show.
EXPECTED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "RATE_LIMITED",
     "QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS",
     "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_ALLOWED", "TOO_MANY_SUBSCRIPTIONS"}
)


def is_expected_error(error: GraphQLError) -> bool:
    """Parse/validation errors and our coded errors pass; unexpected exceptions are masked."""
    if error.original_error is None:
        return True
    extensions = error.extensions or {}
    return extensions.get("code") in EXPECTED_CODES
