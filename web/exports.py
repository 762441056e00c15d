"""``GET /privacy/exports/{token}``: download a personal-data export, once, as its owner.

The caller must be signed in (access cookie or Bearer token) as the learner the export belongs
to; anyone else gets 404, whether or not the token exists. The first successful download drops
the document, so a second one is 410 Gone, as is a download after the link expired. The
response is never cached.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain import privacy_export
from resolvers.context import Services
from web.graphql import authenticate

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=NO_STORE)


def export_routes(services: Services) -> list[Route]:
    async def download(request: Request) -> Response:
        principal = await authenticate(services, request)
        if principal is None:
            return _error(401, "UNAUTHENTICATED", "Sign in to download your data.")
        if principal.api_key_id is not None:
            return _error(403, "FORBIDDEN", "Exports are downloaded in a signed-in session.")
        token = request.path_params["token"]
        if not 20 <= len(token) <= 100:
            return _error(404, "NOT_FOUND", "No such export.")
        try:
            document = await privacy_export.consume_export(
                effects=services.effects, user_id=principal.user_id, token=token,
                now=services.clock.now(),
            )
        except privacy_export.ExportUnavailable:
            return _error(404, "NOT_FOUND", "No such export.")
        except privacy_export.ExportGone:
            return _error(410, "GONE", "This download link was already used or has expired. "
                          "Request a new export.")
        return Response(
            document.encode("utf-8"),
            media_type="application/json",
            headers={**NO_STORE,
                     "content-disposition": 'attachment; filename="callfluently-data.json"'},
        )

    return [Route("/privacy/exports/{token}", download, methods=["GET"])]
