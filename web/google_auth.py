"""``/auth/google/login`` and ``/auth/google/callback``: browser sign-in with Google.

The OAuth state and PKCE verifier live in a short-lived, httpOnly ``cf_oauth`` cookie that is
cleared as soon as the callback finishes, so Google sign-in adds no lasting cookie.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from authlib.integrations.base_client.errors import OAuthError
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain import sessions
from providers.google import GoogleOidc
from resolvers.context import Services
from web.cookies import AuthCookies
from web.graphql import client_info

logger = logging.getLogger("callfluently.auth")

OAUTH_COOKIE = "cf_oauth"
OAUTH_COOKIE_MAX_AGE = 600


def google_routes(services: Services, google: GoogleOidc, cookies: AuthCookies) -> list[Route]:
    base = services.settings.public_base_url

    def finish(query: dict[str, str]) -> str:
        return f"{base}/?{urlencode(query)}"

    async def login(request: Request) -> Response:
        hints = {k: v for k, v in request.query_params.items() if k.startswith("sandbox_")}
        if "google" not in services.settings.sandboxes:
            hints = {}  # test identities are a sandbox feature only
        return await google.authorize_redirect(request, **hints)  # type: ignore[no-any-return]

    async def callback(request: Request) -> Response:
        try:
            claims = await google.complete(request)
        except (OAuthError, JoseError, KeyError, ValueError) as exc:
            logger.info("google sign-in failed", extra={"error": type(exc).__name__})
            request.session.clear()
            return RedirectResponse(finish({"signInError": "GOOGLE_SIGN_IN_FAILED"}), 303)
        request.session.clear()
        identity = sessions.GoogleIdentity(
            sub=str(claims.get("sub", "")),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name"),
        )
        if not identity.sub:
            return RedirectResponse(finish({"signInError": "GOOGLE_SIGN_IN_FAILED"}), 303)
        try:
            sign_in = await sessions.google_sign_in(
                policy=services.session_policy, identity=identity, client=client_info(request),
                now=services.clock.now(),
            )
        except sessions.GoogleSignInRefused as exc:
            return RedirectResponse(finish({"signInError": exc.code.value}), 303)
        response = RedirectResponse(finish({"signedIn": "google"}), 303)
        cookies.set_sign_in(response, sign_in)
        return response

    return [
        Route("/auth/google/login", login, methods=["GET"]),
        Route("/auth/google/callback", callback, methods=["GET"]),
    ]
