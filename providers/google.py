"""Google sign-in (OpenID Connect with PKCE S256) through authlib's Starlette client."""

from __future__ import annotations

from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

from providers.http_bridge import HttpClientFactory, HttpxBridgeTransport
from settings import Settings


class GoogleOidc:
    """The relying party: builds the redirect to Google and validates what comes back."""

    def __init__(self, settings: Settings, http_client: HttpClientFactory) -> None:
        self.client_id = settings.google_client_id or ""
        self.redirect_uri = f"{settings.public_base_url}/auth/google/callback"
        oauth = OAuth()
        oauth.register(
            name="google",
            server_metadata_url=settings.google_discovery_url,
            client_id=self.client_id,
            client_secret=str(settings.google_client_secret or ""),
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": 10.0,
                "transport": HttpxBridgeTransport(http_client),
            },
        )
        self.app: StarletteOAuth2App = oauth.google

    async def authorize_redirect(self, request: Any, **params: str) -> Any:
        return await self.app.authorize_redirect(request, self.redirect_uri, **params)

    async def complete(self, request: Any) -> dict[str, Any]:
        """Exchange the code and return the validated ID-token claims.

        authlib does not check ``aud`` unless asked, so the issuer and our client id are
        asserted explicitly.
        """
        metadata = await self.app.load_server_metadata()
        token = await self.app.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "values": [metadata["issuer"]]},
                "aud": {"essential": True, "values": [self.client_id]},
            },
        )
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        return claims
