"""Which GraphQL errors reach clients as they are; everything else is masked and logged."""

from __future__ import annotations

from graphql import GraphQLError

#: Codes we raise on purpose (``extensions.code``); their messages are safe to show.
EXPECTED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "RATE_LIMITED",
     "QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS",
     "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_ALLOWED", "TOO_MANY_SUBSCRIPTIONS",
     "SLOW_CONSUMER"}
)


def is_expected_error(error: GraphQLError) -> bool:
    """Parse/validation errors and our coded errors pass; unexpected exceptions are masked."""
    if error.original_error is None:
        return True
    if isinstance(error.original_error, GraphQLError) and error.path is None:
        return True  # a variable failed input coercion (e.g. 12.5 for Int!): a validation error
    extensions = error.extensions or {}
    return extensions.get("code") in EXPECTED_CODES
