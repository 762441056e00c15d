"""A local Google OpenID Connect provider, close enough to Google for authlib's real client.

The service signs learners in with authlib's Starlette client pointed at
``{issuer}/.well-known/openid-configuration``. Without Google credentials (local runs, demos,
tests) the service mounts this app at ``/sandbox/google`` and points the same client here, so the
whole sign-in path (discovery, authorization redirect with PKCE and nonce, code exchange with
client authentication, ID token signature and claim checks, userinfo) runs unchanged.

Two ways to pick the identity that signs in:

* Demo: ``GET /authorize`` without ``sandbox_*`` parameters shows a tiny form (email, name,
  "email verified"); "Continue" posts to ``/authorize/approve``.
* Tests: add ``sandbox_email`` (and optionally ``sandbox_name``, ``sandbox_sub``,
  ``sandbox_email_verified=true|false``, ``sandbox_picture``) to the ``/authorize`` URL and it
  approves at once, answering 302 to ``redirect_uri`` with ``code`` and ``state``.

The provider is deliberately strict where Google is strict (and a little stricter: PKCE S256 and
a nonce are required) so a client that works here does not surprise us against the real Google.
Everything is held in memory per app instance, including the RSA signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox import SandboxContext

__all__ = [
    "ACCESS_TOKEN_TTL_SECONDS",
    "CODE_TTL_SECONDS",
    "MOUNT_PATH",
    "GoogleSandbox",
    "Identity",
    "create_app",
    "default_sub",
]

#: Where the service mounts this app; the issuer is ``{public_base_url}{MOUNT_PATH}``.
MOUNT_PATH: Final = "/sandbox/google"
#: Google's authorization codes are short-lived; a slow client must fail here too.
CODE_TTL_SECONDS: Final = 60.0
#: What Google answers in ``expires_in``.
ACCESS_TOKEN_TTL_SECONDS: Final = 3599
ID_TOKEN_TTL_SECONDS: Final = 3600

#: Google answers the granted scope with the long URL forms of ``email`` and ``profile``.
_SCOPE_URLS: Final = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
_SCOPE_SHORT: Final = {url: short for short, url in _SCOPE_URLS.items()}
#: RFC 7636 section 4.1: 43 to 128 unreserved characters.
_CODE_VERIFIER_RE: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
#: A base64url SHA-256 digest without padding is always 43 characters.
_S256_CHALLENGE_RE: Final = re.compile(r"[A-Za-z0-9\-_]{43}")
#: The parameters authlib (and any OIDC client) sends to ``/authorize``; the consent form carries
#: exactly these across so ``/authorize/approve`` can validate them again.
_AUTHORIZE_PARAMS: Final = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "prompt",
    "access_type",
)
_TRUE: Final = frozenset({"1", "true", "on", "yes"})
_FALSE: Final = frozenset({"0", "false", "off", "no"})
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class Identity:
    """The Google account that signs in; what the ID token and userinfo describe."""

    sub: str
    email: str
    email_verified: bool
    name: str
    picture: str | None = None

    @property
    def given_name(self) -> str:
        """Google splits the display name; our service may use either part."""
        return self.name.split(" ", 1)[0]

    @property
    def family_name(self) -> str | None:
        """``None`` for single-word names, which Google then leaves out of the claims."""
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) == 2 else None

    def claims(self, scope: tuple[str, ...]) -> dict[str, Any]:
        """Only the claims the granted scope allows, as Google does (email needs ``email``)."""
        claims: dict[str, Any] = {"sub": self.sub}
        if "email" in scope:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
        if "profile" in scope:
            claims["name"] = self.name
            if self.picture:
                claims["picture"] = self.picture
            claims["given_name"] = self.given_name
            if self.family_name:
                claims["family_name"] = self.family_name
        return claims


def default_sub(email: str) -> str:
    """A stable, Google-shaped subject (21 digits) so the same email is the same account."""
    digest = int(hashlib.sha256(email.strip().lower().encode()).hexdigest(), 16)
    return f"1{digest % 10**20:020d}"


def _default_name(email: str) -> str:
    """Something readable for the demo when nobody typed a name."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._+\-]+", local) if part) or email


def _parse_bool(raw: str | None, default: bool) -> bool | None:
    """``None`` means unparseable, so a typo in a test fails loudly instead of flipping a flag."""
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _b64url(data: bytes) -> str:
    """Unpadded base64url, the encoding JOSE and PKCE use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    """The PKCE S256 transform (RFC 7636 section 4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _at_hash(access_token: str) -> str:
    """Left half of SHA-256 of the access token; authlib verifies it when present."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """Add parameters to a redirect URI while keeping any query it already has (RFC 6749 3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _is_valid_redirect_uri(uri: str) -> bool:
    """Absolute http(s) URI without a fragment; there is no registration list in the sandbox."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and not parts.fragment


def _normalize_scope(raw: str) -> tuple[str, ...]:
    """Map Google's long scope URLs to short names so both spellings are accepted."""
    seen: list[str] = []
    for item in raw.split():
        short = _SCOPE_SHORT.get(item, item)
        if short not in seen:
            seen.append(short)
    return tuple(seen)


def _granted_scope(scope: tuple[str, ...]) -> str:
    """The ``scope`` string Google returns from the token endpoint."""
    return " ".join(_SCOPE_URLS.get(item, item) for item in scope)


class _AuthorizeError(Exception):
    """An authorization request we refuse; redirects back only when the client is trusted."""

    def __init__(
        self,
        description: str,
        *,
        error: str = "invalid_request",
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state

    def response(self) -> Response:
        """Redirect with ``error`` (RFC 6749 4.1.2.1), or 400 when redirecting is unsafe."""
        body = {"error": self.error, "error_description": self.description}
        if self.redirect_uri is None:
            return JSONResponse(body, status_code=400)
        target = _with_query(self.redirect_uri, {**body, "state": self.state})
        return RedirectResponse(target, status_code=302)


class _TokenError(Exception):
    """A token endpoint failure, rendered as the OAuth JSON error body."""

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code

    def response(self) -> Response:
        """RFC 6749 5.2; 401 with a challenge for failed client authentication."""
        headers = dict(_NO_STORE)
        if self.status_code == 401:
            headers["WWW-Authenticate"] = 'Basic realm="sandbox-google"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status_code,
            headers=headers,
        )


@dataclass(frozen=True, slots=True)
class _AuthRequest:
    """A validated authorization request; what a code is bound to."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    login_hint: str | None


@dataclass(slots=True)
class _IssuedCode:
    """One authorization code; ``redeemed`` makes it single use even after a failed attempt."""

    request: _AuthRequest
    identity: Identity
    expires_at: float
    redeemed: bool = False
    access_token: str | None = None


@dataclass(frozen=True, slots=True)
class _IssuedToken:
    """An access token the userinfo endpoint accepts until it expires or its code is replayed."""

    identity: Identity
    scope: tuple[str, ...]
    client_id: str
    expires_at: float


class GoogleSandbox:
    """The provider's state and endpoints; one instance (and one signing key) per app."""

    def __init__(self, ctx: SandboxContext, *, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.clock = clock
        self.issuer = f"{ctx.public_base_url.rstrip('/')}{MOUNT_PATH}"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        n_bytes = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e_bytes = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        self.kid = hashlib.sha256(n_bytes).hexdigest()[:40]
        self.jwk: dict[str, str] = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url(n_bytes),
            "e": _b64url(e_bytes),
        }
        self._codes: dict[str, _IssuedCode] = {}
        self._tokens: dict[str, _IssuedToken] = {}
        #: Every call to ``/token``, newest last, without secrets; tests assert PKCE with it.
        self.token_requests: list[dict[str, Any]] = []

    # -- discovery -------------------------------------------------------------------------

    async def openid_configuration(self, request: Request) -> Response:
        """The discovery document authlib loads first; every URL is absolute under the issuer."""
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["plain", "S256"],
                "claims_supported": [
                    "aud",
                    "azp",
                    "at_hash",
                    "email",
                    "email_verified",
                    "exp",
                    "family_name",
                    "given_name",
                    "iat",
                    "iss",
                    "name",
                    "nonce",
                    "picture",
                    "sub",
                ],
            }
        )

    async def jwks(self, request: Request) -> Response:
        """The public half of the signing key; authlib picks it by the ID token's ``kid``."""
        return JSONResponse({"keys": [self.jwk]})

    # -- authorization ---------------------------------------------------------------------

    def _validate_authorize(self, params: Mapping[str, str]) -> _AuthRequest:
        """Check an authorization request as Google would, plus the PKCE and nonce we insist on.

        Client and redirect URI problems answer 400 (redirecting to an unchecked URI would make
        us an open redirector); everything else redirects back with ``error=invalid_request``.
        """
        client_id = params.get("client_id", "")
        if not client_id:
            raise _AuthorizeError("Missing required parameter: client_id")
        if not hmac.compare_digest(client_id, self.ctx.google_client_id):
            raise _AuthorizeError("The OAuth client was not found.", error="invalid_client")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise _AuthorizeError("Missing required parameter: redirect_uri")
        if not _is_valid_redirect_uri(redirect_uri):
            raise _AuthorizeError(
                "redirect_uri must be an absolute http(s) URI without a fragment.",
                error="redirect_uri_mismatch",
            )

        state = params.get("state") or None

        def refuse(description: str) -> _AuthorizeError:
            return _AuthorizeError(description, redirect_uri=redirect_uri, state=state)

        if params.get("response_type") != "code":
            raise refuse("response_type must be 'code'.")
        scope = _normalize_scope(params.get("scope", ""))
        if "openid" not in scope:
            raise refuse("scope must include 'openid'.")
        unknown = [item for item in scope if item not in {"openid", "email", "profile"}]
        if unknown:
            raise refuse(f"Unsupported scope: {' '.join(unknown)}")
        if not state:
            raise refuse("Missing required parameter: state")
        nonce = params.get("nonce", "")
        if not nonce:
            raise refuse("Missing required parameter: nonce")
        code_challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if not code_challenge:
            raise refuse("Missing required parameter: code_challenge")
        if method != "S256":
            raise refuse("code_challenge_method must be 'S256'.")
        if not _S256_CHALLENGE_RE.fullmatch(code_challenge):
            raise refuse("code_challenge is not a base64url SHA-256 digest.")
        return _AuthRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=method,
            login_hint=params.get("login_hint") or None,
        )

    @staticmethod
    def _identity(
        auth: _AuthRequest,
        *,
        email: str,
        name: str | None,
        sub: str | None,
        email_verified: str | None,
        verified_default: bool,
        picture: str | None,
    ) -> Identity:
        """Build the signing-in account from the test parameters or the consent form."""
        email = email.strip()
        local, _, domain = email.partition("@")
        if not local or "." not in domain or any(ch.isspace() for ch in email):
            raise _AuthorizeError(
                f"Not an email address: {email!r}",
                redirect_uri=auth.redirect_uri,
                state=auth.state,
            )
        verified = _parse_bool(email_verified, verified_default)
        if verified is None:
            raise _AuthorizeError(
                f"email_verified must be true or false, not {email_verified!r}",
                redirect_uri=auth.redirect_uri,
                state=auth.state,
            )
        return Identity(
            sub=(sub or "").strip() or default_sub(email),
            email=email,
            email_verified=verified,
            name=(name or "").strip() or _default_name(email),
            picture=(picture or "").strip() or None,
        )

    def _issue_code(self, auth: _AuthRequest, identity: Identity) -> Response:
        """Bind a one-time code to the request and account, and send the browser back."""
        code = f"4/0{secrets.token_urlsafe(32)}"
        self._codes[code] = _IssuedCode(
            request=auth, identity=identity, expires_at=self.clock() + CODE_TTL_SECONDS
        )
        target = _with_query(auth.redirect_uri, {"code": code, "state": auth.state})
        return RedirectResponse(target, status_code=302)

    async def authorize(self, request: Request) -> Response:
        """Validate, then auto-approve (``sandbox_email`` given) or show the consent form."""
        params = dict(request.query_params)
        try:
            auth = self._validate_authorize(params)
            email = params.get("sandbox_email")
            if email is not None:
                identity = self._identity(
                    auth,
                    email=email,
                    name=params.get("sandbox_name"),
                    sub=params.get("sandbox_sub"),
                    email_verified=params.get("sandbox_email_verified"),
                    verified_default=True,
                    picture=params.get("sandbox_picture"),
                )
                return self._issue_code(auth, identity)
        except _AuthorizeError as exc:
            return exc.response()
        return HTMLResponse(self._consent_page(params, auth))

    def _consent_page(self, params: Mapping[str, str], auth: _AuthRequest) -> str:
        """The demo's stand-in for Google's account chooser: pick any identity and continue."""
        hidden = "\n".join(
            f'    <input type="hidden" name="{name}" value="{html.escape(params[name])}">'
            for name in _AUTHORIZE_PARAMS
            if name in params
        )
        email = html.escape(auth.login_hint or "")
        return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - Google (sandbox)</title></head>
<body style="font-family: sans-serif; max-width: 26rem; margin: 3rem auto">
  <h1>Sign in with Google <small>(sandbox)</small></h1>
  <p>No Google account is involved: choose who you are for this session.</p>
  <form method="post" action="{html.escape(self.issuer)}/authorize/approve">
{hidden}
    <p><label>Email<br><input type="email" name="email" value="{email}" required></label></p>
    <p><label>Name<br><input type="text" name="name"></label></p>
    <p><label><input type="checkbox" name="email_verified" value="true" checked>
      Email verified</label></p>
    <p><button type="submit">Continue</button></p>
  </form>
</body>
</html>
"""

    async def approve(self, request: Request) -> Response:
        """The consent form's target; re-validates the request because hidden fields are input."""
        async with request.form() as form:
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            auth = self._validate_authorize(fields)
            identity = self._identity(
                auth,
                email=fields.get("email", ""),
                name=fields.get("name"),
                sub=fields.get("sub"),
                # An unchecked checkbox is simply absent from the form.
                email_verified=fields.get("email_verified"),
                verified_default=False,
                picture=fields.get("picture"),
            )
        except _AuthorizeError as exc:
            return exc.response()
        return self._issue_code(auth, identity)

    # -- token -----------------------------------------------------------------------------

    def _authenticate_client(self, request: Request, fields: Mapping[str, str]) -> str:
        """Check client_secret_basic or client_secret_post; returns the method used."""
        header = request.headers.get("authorization", "")
        body_secret = fields.get("client_secret")
        if header:
            scheme, _, encoded = header.partition(" ")
            if scheme.lower() != "basic":
                raise _TokenError(
                    "invalid_client", "Unsupported client authentication.", status_code=401
                )
            if body_secret is not None:
                raise _TokenError(
                    "invalid_request", "Use one client authentication method, not two."
                )
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except ValueError as exc:
                raise _TokenError(
                    "invalid_client", "Malformed Basic credentials.", status_code=401
                ) from exc
            raw_id, sep, raw_secret = decoded.partition(":")
            if not sep:
                raise _TokenError("invalid_client", "Malformed Basic credentials.", status_code=401)
            # RFC 6749 2.3.1 form-encodes both parts; authlib does not. Accept either spelling.
            candidates = {(raw_id, raw_secret), (unquote_plus(raw_id), unquote_plus(raw_secret))}
            body_id = fields.get("client_id")
            method = "client_secret_basic"
        else:
            if body_secret is None:
                raise _TokenError(
                    "invalid_client", "Client authentication is required.", status_code=401
                )
            candidates = {(fields.get("client_id", ""), body_secret)}
            body_id = None
            method = "client_secret_post"
        ok = any(
            hmac.compare_digest(client_id.encode(), self.ctx.google_client_id.encode())
            and hmac.compare_digest(secret.encode(), self.ctx.google_client_secret.encode())
            for client_id, secret in candidates
        )
        if not ok:
            raise _TokenError("invalid_client", "Unauthorized", status_code=401)
        if body_id is not None and body_id != self.ctx.google_client_id:
            raise _TokenError("invalid_client", "client_id does not match.", status_code=401)
        return method

    def _exchange(
        self, request: Request, fields: Mapping[str, str], entry: dict[str, Any]
    ) -> dict[str, Any]:
        """Redeem an authorization code; any problem is a ``_TokenError``."""
        entry["client_auth_method"] = self._authenticate_client(request, fields)
        grant_type = fields.get("grant_type")
        if grant_type != "authorization_code":
            raise _TokenError("unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        code = fields.get("code")
        if not code:
            raise _TokenError("invalid_request", "Missing required parameter: code")
        issued = self._codes.get(code)
        if issued is None:
            raise _TokenError("invalid_grant", "Malformed auth code.")
        auth = issued.request
        entry["code_challenge_method"] = auth.code_challenge_method
        if issued.redeemed:
            # RFC 6749 4.1.2: a replayed code revokes what it already bought.
            if issued.access_token is not None:
                self._tokens.pop(issued.access_token, None)
            raise _TokenError("invalid_grant", "Bad Request: the code was already redeemed.")
        issued.redeemed = True
        if self.clock() >= issued.expires_at:
            raise _TokenError("invalid_grant", "The authorization code has expired.")
        if auth.client_id != self.ctx.google_client_id:
            raise _TokenError("invalid_grant", "The code was issued to another client.")
        if fields.get("redirect_uri") != auth.redirect_uri:
            raise _TokenError("invalid_grant", "redirect_uri does not match the authorization.")
        verifier = fields.get("code_verifier")
        if not verifier:
            raise _TokenError("invalid_grant", "Missing code verifier.")
        if not _CODE_VERIFIER_RE.fullmatch(verifier) or not hmac.compare_digest(
            _s256(verifier), auth.code_challenge
        ):
            raise _TokenError("invalid_grant", "Invalid code verifier.")
        entry["pkce_verified"] = True

        now = self.clock()
        access_token = f"ya29.{secrets.token_urlsafe(48)}"
        issued.access_token = access_token
        self._tokens[access_token] = _IssuedToken(
            identity=issued.identity,
            scope=auth.scope,
            client_id=auth.client_id,
            expires_at=now + ACCESS_TOKEN_TTL_SECONDS,
        )
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "azp": auth.client_id,
            "aud": auth.client_id,
            **issued.identity.claims(auth.scope),
            "at_hash": _at_hash(access_token),
            "nonce": auth.nonce,
            "iat": int(now),
            "exp": int(now) + ID_TOKEN_TTL_SECONDS,
        }
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        return {
            "access_token": access_token,
            "expires_in": ACCESS_TOKEN_TTL_SECONDS,
            "token_type": "Bearer",
            "scope": _granted_scope(auth.scope),
            "id_token": id_token,
        }

    async def token(self, request: Request) -> Response:
        """``POST /token``: authorization_code grant only, logged for ``/_control/requests``."""
        async with request.form() as form:
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
        entry: dict[str, Any] = {
            "at": self.clock(),
            "grant_type": fields.get("grant_type"),
            "client_id": fields.get("client_id"),
            "client_auth_method": None,
            "redirect_uri": fields.get("redirect_uri"),
            "code_verifier_sent": bool(fields.get("code_verifier")),
            "code_challenge_method": None,
            "pkce_verified": False,
            "status": 200,
            "error": None,
        }
        try:
            body = self._exchange(request, fields, entry)
        except _TokenError as exc:
            entry["status"] = exc.status_code
            entry["error"] = exc.error
            self.token_requests.append(entry)
            return exc.response()
        self.token_requests.append(entry)
        return JSONResponse(body, headers=_NO_STORE)

    # -- userinfo and control ----------------------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        """OIDC userinfo for a live bearer token, limited to the granted scope."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        issued = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None or self.clock() >= issued.expires_at:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Invalid Credentials"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(issued.identity.claims(issued.scope))

    async def control_requests(self, request: Request) -> Response:
        """Test-only view of token requests, to assert PKCE was actually used end to end."""
        return JSONResponse({"requests": self.token_requests})


def create_app(ctx: SandboxContext, *, clock: Callable[[], float] = time.time) -> Starlette:
    """Build the provider app the service mounts at ``/sandbox/google``.

    ``clock`` (seconds since the epoch) drives code and token expiry and the ID token's
    ``iat``/``exp``; tests move it to expire codes without sleeping. The provider object is
    kept on ``app.state.google_sandbox`` for tests that want to look inside.
    """
    provider = GoogleSandbox(ctx, clock=clock)
    app = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", provider.openid_configuration),
            Route("/jwks", provider.jwks),
            Route("/authorize", provider.authorize, methods=["GET"]),
            Route("/authorize/approve", provider.approve, methods=["POST"]),
            Route("/token", provider.token, methods=["POST"]),
            Route("/userinfo", provider.userinfo, methods=["GET", "POST"]),
            Route("/_control/requests", provider.control_requests, methods=["GET"]),
        ]
    )
    app.state.google_sandbox = provider
    return app
