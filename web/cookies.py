"""The only cookies we set (the policy promises essential cookies only).

``cf_access``: the 15-minute JWT. ``cf_refresh``: the opaque refresh token, sent only to
``/graphql``. Both httpOnly and SameSite=Lax, Secure whenever we are served over HTTPS.
"""

from __future__ import annotations

from starlette.responses import Response

from domain.sessions import SignIn
from resolvers.context import AuthCookieWriter

ACCESS_COOKIE = "cf_access"
REFRESH_COOKIE = "cf_refresh"
REFRESH_PATH = "/graphql"


class AuthCookies(AuthCookieWriter):
    def __init__(self, *, secure: bool, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self.secure = secure
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def set_sign_in(self, response: Response, sign_in: SignIn) -> None:
        response.set_cookie(
            ACCESS_COOKIE, sign_in.access_token, max_age=self.access_ttl_s, path="/",
            httponly=True, samesite="lax", secure=self.secure,
        )
        response.set_cookie(
            REFRESH_COOKIE, sign_in.refresh_token, max_age=self.refresh_ttl_s,
            path=REFRESH_PATH, httponly=True, samesite="lax", secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(ACCESS_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self.secure)
        response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH, httponly=True,
                               samesite="lax", secure=self.secure)
