"""Strawberry's ASGI app made to follow the GraphQL-over-HTTP spec, with APQ.

``web/http_protocol.py`` states the rules (media types and status codes); this module applies
them around strawberry's request cycle:

- ``parse_http_body``: 415 without a JSON Content-Type, 400 for a non-string ``operationName``;
- ``execute_single``: persisted queries (``web/persisted_queries.py``), 405 for a mutation over
  GET, 400 for a subscription over HTTP or a missing document;
- ``process_result``: drops ``data`` from request errors and picks the status and headers;
- ``__call__``: the negotiated Content-Type, JSON bodies for HTTP errors, ``X-Request-Id``, and
  the count of open WebSocket connections.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from domain.persisted_queries import QueryCache
from observability.logs import bound
from observability.metrics import Metrics
from resolvers.context import Context
from web import persisted_queries
from web.get_requests import writing_field
from web.http_protocol import (
    GRAPHQL_RESPONSE_JSON,
    HttpError,
    content_type,
    error_codes,
    http_error_response,
    is_request_error,
    negotiate,
)
from web.operation_selection import ambiguity


class SpecGraphQL(GraphQL[Context, None]):
    """The HTTP half of ``web.graphql.GraphQLApp``; subclasses provide ``services``."""

    services: Any

    @property
    def _metrics(self) -> Metrics:
        return self.services.metrics  # type: ignore[no-any-return]

    @property
    def _query_cache(self) -> QueryCache:
        return self.services.query_cache  # type: ignore[no-any-return]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with bound(request_id=None, operation=None, user_id=None, api_key_id=None):
            if scope["type"] == "websocket":
                self._metrics.ws_connected()
                try:
                    await self.run(WebSocket(scope, receive=receive, send=send))
                finally:
                    self._metrics.ws_disconnected()
                return
            if scope["type"] != "http":  # pragma: no cover - lifespan never reaches a route
                raise ValueError(f"Unknown scope type: {scope['type']!r}")
            request = Request(scope, receive=receive)
            media = negotiate(request.headers.get("accept"))
            try:
                response = await self.run(request)
            except HttpError as exc:
                response = http_error_response(exc, media)
            except HTTPException as exc:
                response = http_error_response(HttpError(exc.status_code, exc.reason), media)
            self._finish(request, response, media)
            await response(scope, receive, send)

    def _finish(self, request: Request, response: Response, media: str) -> None:
        """Apply what ``process_result`` decided, and the negotiated Content-Type."""
        state = request.state
        request_id = getattr(state, "request_id", None)
        if request_id:
            response.headers["X-Request-Id"] = request_id
        if response.media_type != "application/json":
            return  # GraphiQL's HTML, or an HTTP error already shaped
        response.headers["content-type"] = content_type(media)
        for name, value in getattr(state, "graphql_headers", {}).items():
            response.headers[name] = value
        status = getattr(state, "graphql_status", None)
        if status and response.status_code == 200:
            response.status_code = status

    def encode_json(self, data: object) -> str:
        """orjson instead of ``json.dumps``: a dashboard response is ~35 KB of JSON. Text, not
        bytes, so WebSocket messages stay text frames."""
        return orjson.dumps(data).decode()

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL only for a browser's plain GET (an APQ GET from a client runs instead)."""
        params = request.query_params
        return (request.method == "GET" and params.get("query") is None
                and params.get("extensions") is None
                and "text/html" in request.headers.get("accept", ""))

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            media = (request.content_type or "").split(";")[0].strip().lower()
            if media != "application/json" and not (
                self.multipart_uploads_enabled and media == "multipart/form-data"
            ):
                raise HttpError(415, "Send the request as Content-Type: application/json.")
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | type(None)):
                raise HttpError(400, "`operationName` must be a string or null.")
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        method = request_adapter.method
        allowed = OperationType.from_http(method)
        persisted = await persisted_queries.resolve(
            self._query_cache, request_data.query, request_data.extensions
        )
        if persisted is not None:
            if persisted.document is None:
                return ExecutionResult(data=None, errors=[persisted_queries.not_found_error()])
            request_data.query = persisted.document
        if (reason := ambiguity(request_data.query, request_data.operation_name, context)):
            raise HttpError(400, reason)
        if method == "GET" and (field := writing_field(
            self.schema, request_data.query, request_data.operation_name, context
        )):
            raise HttpError(405, f"`{field}` writes an audit entry: use POST.",
                            headers={"Allow": "POST"})
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if method == "GET" and exc.operation_type is OperationType.MUTATION:
                raise HttpError(405, "Mutations are not allowed over GET: use POST.",
                                headers={"Allow": "POST"}) from exc
            raise HttpError(400, exc.as_http_error_reason(method)) from exc
        except CannotGetOperationTypeError as exc:
            raise HttpError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HttpError(400, "No GraphQL document: send `query` (or a persisted query "
                                 "hash in `extensions.persistedQuery`).") from exc
        if persisted is not None and persisted.cache_after and persisted.document and not (
            is_request_error(result.data, result.errors)
        ):
            await self._query_cache.put(persisted.sha256, persisted.document)
        return result

    async def process_result(self, request: Request, result: ExecutionResult
                             ) -> GraphQLHTTPResponse:
        response = process_result(result)
        media = negotiate(request.headers.get("accept"))
        codes = error_codes(result.errors)
        headers: dict[str, str] = {}
        status = 200
        if is_request_error(result.data, result.errors):
            response.pop("data", None)
            if media == GRAPHQL_RESPONSE_JSON:
                status = 403 if codes == {"FORBIDDEN"} else 400
        if "RATE_LIMITED" in codes:
            retry = max(int((e.extensions or {}).get("retryAfterSeconds", 1))
                        for e in result.errors or () if (e.extensions or {}).get("code")
                        == "RATE_LIMITED")
            headers["Retry-After"] = str(retry)
            if media == GRAPHQL_RESPONSE_JSON:
                status = 429
        request.state.graphql_status = status
        request.state.graphql_headers = headers
        return response
