"""GraphQL over HTTP: media types, status codes and HTTP-level errors.

We speak both response media types of the GraphQL-over-HTTP spec:

- ``application/graphql-response+json`` (preferred when the client accepts it): a request error
  (the document does not parse or validate, variables do not coerce, a limit or the persisted
  query check refused it) answers 400 with no ``data``; an API key refused before execution
  (``FORBIDDEN``) answers 403; ``RATE_LIMITED`` answers 429.
- ``application/json`` (legacy, and for ``*/*`` or no Accept): every well-formed request answers
  200, errors in the body (``RATE_LIMITED`` included, with a ``Retry-After`` header as well).

Problems with the HTTP request itself are HTTP errors under either type, with a GraphQL-shaped
JSON body: malformed JSON or parameters 400, no supported Content-Type 415, a mutation over GET
405, a body over the size limit 413, an invalid or revoked API key 401.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "NOT_FOUND",
          405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 413: "REQUEST_TOO_LARGE",
          415: "UNSUPPORTED_MEDIA_TYPE", 429: "RATE_LIMITED"}


class HttpError(Exception):
    """An HTTP-level refusal: answered with ``status`` and a JSON error body."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "BAD_REQUEST")
        self.headers = dict(headers or {})
        self.extensions = extensions


def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header (graphql-response+json wins ties)."""
    if not accept:
        return APPLICATION_JSON
    best, best_q = APPLICATION_JSON, -1.0
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON and q >= best_q:
            best, best_q = GRAPHQL_RESPONSE_JSON, q
        elif media in (APPLICATION_JSON, "application/*", "*/*") and q > best_q:
            best, best_q = APPLICATION_JSON, q
    return best


def content_type(media: str) -> str:
    return f"{media}; charset=utf-8"


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def http_error_response(error: HttpError, media: str) -> Response:
    body = json.dumps(error_body(error.message, error.code, **error.extensions))
    return Response(body, status_code=error.status, headers=error.headers,
                    media_type=content_type(media))


def is_request_error(data: Any, errors: Sequence[GraphQLError] | None) -> bool:
    """Errors raised before execution (no path, no data): the request as a whole failed."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def error_codes(errors: Sequence[GraphQLError] | None) -> set[str]:
    return {str((e.extensions or {}).get("code")) for e in errors or ()} - {"None"}
