"""The Google OIDC sandbox, driven by the same authlib Starlette client the service uses.

authlib's HTTP goes through ``httpx2`` (not ``httpx``), so in-process routing needs an ``httpx2``
transport in ``client_kwargs``: either ``httpx2.ASGITransport`` straight onto the app, or a small
bridge onto the ``httpx.AsyncClient`` factory that ``SandboxContext.http_client`` already provides.
Both are exercised here so the integration tests can pick either.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import httpx2
import jwt
import pytest
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from providers.http_bridge import HttpxBridgeTransport
from sandbox import SandboxContext
from sandbox.google import create_app

BASE = "http://service.test"
ISSUER = f"{BASE}/sandbox/google"
CALLBACK = f"{BASE}/auth/callback"


@dataclass
class World:
    """The service stand-in: provider mounted at /sandbox/google plus an authlib relying party."""

    ctx: SandboxContext
    service: Starlette
    provider: Starlette
    oauth: OAuth
    clock: list[float]

    def browser(self) -> httpx.AsyncClient:
        """A cookie-keeping user agent that does not follow redirects, so each hop is checked."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.service), base_url=BASE)


def build_world(
    *, transport: str = "httpx2-asgi", client_auth: str | None = None, now: float | None = None
) -> World:
    """Wire a provider and an authlib client exactly as the service registers it."""
    clock: list[float] = []
    service_ref: list[Starlette] = []

    def http_client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=service_ref[0]), base_url=BASE)

    ctx = SandboxContext(
        public_base_url=BASE,
        http_client=http_client,
        vapi_webhook_secret="vapi-secret",
        stripe_webhook_secret="stripe-secret",
        speed=0,
    )
    if now is None:
        provider = create_app(ctx)
    else:
        clock.append(now)
        provider = create_app(ctx, clock=lambda: clock[0])

    client_kwargs: dict[str, Any] = {
        "scope": "openid email profile",
        "code_challenge_method": "S256",
    }
    if transport == "httpx-bridge":
        # At registration time: ctx.http_client is lazy, so the service need not exist yet.
        client_kwargs["transport"] = HttpxBridgeTransport(ctx.http_client)
    if client_auth is not None:
        client_kwargs["token_endpoint_auth_method"] = client_auth

    oauth = OAuth()
    oauth.register(
        name="google",
        server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        client_id=ctx.google_client_id,
        client_secret=ctx.google_client_secret,
        client_kwargs=client_kwargs,
    )

    async def login(request: Request) -> Response:
        response: Response = await oauth.google.authorize_redirect(
            request, request.url_for("auth_callback")
        )
        return response

    async def auth_callback(request: Request) -> Response:
        try:
            token = await oauth.google.authorize_access_token(request)
        except OAuthError as exc:
            return JSONResponse({"error": exc.error, "description": exc.description}, 400)
        endpoint_userinfo = await oauth.google.userinfo(token=token)
        return JSONResponse(
            {
                "userinfo": dict(token["userinfo"]),
                "endpoint_userinfo": dict(endpoint_userinfo),
                "scope": token["scope"],
                "token_type": token["token_type"],
                "expires_in": token["expires_in"],
            }
        )

    service = Starlette(
        routes=[
            Route("/login", login),
            Route("/auth/callback", auth_callback, name="auth_callback"),
            Mount("/sandbox/google", app=provider),
        ],
        middleware=[Middleware(SessionMiddleware, secret_key="test-session-secret")],
    )
    service_ref.append(service)
    if transport == "httpx2-asgi":
        # After registration, as an integration test would do to the service's own client:
        # authlib keeps this very dict and passes it to every httpx2 client it creates.
        oauth.google.client_kwargs["transport"] = httpx2.ASGITransport(app=service)
    return World(ctx=ctx, service=service, provider=provider, oauth=oauth, clock=clock)


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def path_and_query(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def authorize_code(
    browser: httpx.AsyncClient, world: World, verifier: str, **identity: str
) -> str:
    """Get a code straight from /authorize with the test identity parameters (no authlib)."""
    params = {
        "response_type": "code",
        "client_id": world.ctx.google_client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "sandbox_email": "ada@example.com",
        **identity,
    }
    resp = await browser.get("/sandbox/google/authorize", params=params)
    assert resp.status_code == 302, resp.text
    query = query_of(resp.headers["location"])
    assert query["state"] == "st-1"
    return query["code"]


def token_form(world: World, code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": world.ctx.google_client_id,
        "client_secret": world.ctx.google_client_secret,
    }


async def test_discovery_and_jwks() -> None:
    world = build_world()
    async with world.browser() as browser:
        doc = (await browser.get("/sandbox/google/.well-known/openid-configuration")).json()
        jwks = (await browser.get("/sandbox/google/jwks")).json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert doc["jwks_uri"] == f"{ISSUER}/jwks"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "S256" in doc["code_challenge_methods_supported"]
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    public_key = jwt.PyJWK(key).key
    assert public_key.key_size == 2048


@pytest.mark.parametrize(
    ("transport", "client_auth", "expected_auth"),
    [
        ("httpx2-asgi", None, "client_secret_basic"),
        ("httpx2-asgi", "client_secret_post", "client_secret_post"),
        ("httpx-bridge", None, "client_secret_basic"),
    ],
)
async def test_authlib_round_trip(
    transport: str, client_auth: str | None, expected_auth: str
) -> None:
    world = build_world(transport=transport, client_auth=client_auth)
    async with world.browser() as browser:
        login = await browser.get("/login")
        assert login.status_code == 302
        authorize_url = login.headers["location"]
        assert authorize_url.startswith(f"{ISSUER}/authorize?")
        sent = query_of(authorize_url)
        assert sent["code_challenge_method"] == "S256"
        assert sent["nonce"] and sent["state"] and sent["code_challenge"]

        identity = urlencode({"sandbox_email": "ada@example.com", "sandbox_name": "Ada Lovelace"})
        approved = await browser.get(f"{path_and_query(authorize_url)}&{identity}")
        assert approved.status_code == 302, approved.text
        callback = approved.headers["location"]
        assert callback.startswith(f"{CALLBACK}?")
        assert query_of(callback)["state"] == sent["state"]

        done = await browser.get(path_and_query(callback))
        assert done.status_code == 200, done.text
        result = done.json()
        requests = (await browser.get("/sandbox/google/_control/requests")).json()["requests"]

    userinfo = result["userinfo"]
    assert userinfo["email"] == "ada@example.com"
    assert userinfo["email_verified"] is True
    assert userinfo["name"] == "Ada Lovelace"
    assert userinfo["given_name"] == "Ada"
    assert userinfo["iss"] == ISSUER
    assert userinfo["aud"] == world.ctx.google_client_id
    assert userinfo["nonce"] == sent["nonce"]
    assert re.fullmatch(r"1\d{20}", userinfo["sub"])
    assert result["endpoint_userinfo"]["sub"] == userinfo["sub"]
    assert result["endpoint_userinfo"]["email"] == "ada@example.com"
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert "openid" in result["scope"].split()

    (token_request,) = requests
    assert token_request["status"] == 200
    assert token_request["code_verifier_sent"] is True
    assert token_request["code_challenge_method"] == "S256"
    assert token_request["pkce_verified"] is True
    assert token_request["client_auth_method"] == expected_auth


async def test_round_trip_unverified_email_and_explicit_sub() -> None:
    world = build_world()
    async with world.browser() as browser:
        authorize_url = (await browser.get("/login")).headers["location"]
        identity = urlencode(
            {
                "sandbox_email": "bob@example.org",
                "sandbox_sub": "1234567890",
                "sandbox_email_verified": "false",
            }
        )
        approved = await browser.get(f"{path_and_query(authorize_url)}&{identity}")
        done = await browser.get(path_and_query(approved.headers["location"]))
    userinfo = done.json()["userinfo"]
    assert userinfo["sub"] == "1234567890"
    assert userinfo["email_verified"] is False
    assert userinfo["name"] == "Bob"


async def test_default_sub_is_stable_per_email() -> None:
    world = build_world()
    async with world.browser() as browser:
        subs = []
        for email in ("ada@example.com", "ADA@example.com", "bob@example.com"):
            verifier = secrets.token_urlsafe(48)
            code = await authorize_code(browser, world, verifier, sandbox_email=email)
            token = (
                await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
            ).json()
            subs.append(jwt.decode(token["id_token"], options={"verify_signature": False})["sub"])
    assert subs[0] == subs[1] != subs[2]


async def test_consent_form_demo_path() -> None:
    world = build_world()
    async with world.browser() as browser:
        authorize_url = (await browser.get("/login")).headers["location"]
        page = await browser.get(path_and_query(authorize_url))
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert f'action="{ISSUER}/authorize/approve"' in page.text
        assert "Continue" in page.text
        hidden = {
            name: html.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text
            )
        }
        assert hidden["nonce"] == query_of(authorize_url)["nonce"]
        # The "email verified" checkbox left unticked is simply absent from the form.
        approved = await browser.post(
            "/sandbox/google/authorize/approve",
            data={**hidden, "email": "grace@example.com", "name": "Grace Hopper"},
        )
        assert approved.status_code == 302, approved.text
        done = await browser.get(path_and_query(approved.headers["location"]))
    userinfo = done.json()["userinfo"]
    assert userinfo["email"] == "grace@example.com"
    assert userinfo["email_verified"] is False
    assert userinfo["family_name"] == "Hopper"


async def test_wrong_code_verifier_is_invalid_grant() -> None:
    world = build_world()
    async with world.browser() as browser:
        verifier = secrets.token_urlsafe(48)
        code = await authorize_code(browser, world, verifier)
        form = token_form(world, code, secrets.token_urlsafe(48))
        resp = await browser.post("/sandbox/google/token", data=form)
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid_grant"
        # A failed attempt burns the code too: the right verifier no longer helps.
        resp = await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
        assert resp.json()["error"] == "invalid_grant"
        requests = (await browser.get("/sandbox/google/_control/requests")).json()["requests"]
    assert [r["pkce_verified"] for r in requests] == [False, False]


async def test_missing_code_verifier_is_invalid_grant() -> None:
    world = build_world()
    async with world.browser() as browser:
        verifier = secrets.token_urlsafe(48)
        code = await authorize_code(browser, world, verifier)
        form = token_form(world, code, verifier)
        del form["code_verifier"]
        resp = await browser.post("/sandbox/google/token", data=form)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


async def test_reused_code_is_invalid_grant_and_revokes_token() -> None:
    world = build_world()
    async with world.browser() as browser:
        verifier = secrets.token_urlsafe(48)
        code = await authorize_code(browser, world, verifier)
        first = await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
        assert first.status_code == 200
        access_token = first.json()["access_token"]
        bearer = {"Authorization": f"Bearer {access_token}"}
        assert (await browser.get("/sandbox/google/userinfo", headers=bearer)).status_code == 200

        second = await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
        assert second.status_code == 400
        assert second.json()["error"] == "invalid_grant"
        assert (await browser.get("/sandbox/google/userinfo", headers=bearer)).status_code == 401


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
async def test_bad_client_secret_is_invalid_client(method: str) -> None:
    world = build_world()
    async with world.browser() as browser:
        verifier = secrets.token_urlsafe(48)
        code = await authorize_code(browser, world, verifier)
        form = token_form(world, code, verifier)
        if method == "client_secret_post":
            form["client_secret"] = "not-the-secret"
            resp = await browser.post("/sandbox/google/token", data=form)
        else:
            del form["client_secret"]
            auth = httpx.BasicAuth(world.ctx.google_client_id, "not-the-secret")
            resp = await browser.post("/sandbox/google/token", data=form, auth=auth)
        assert resp.status_code == 401
        assert resp.json()["error"] == "invalid_client"
        # Client authentication fails before the code is touched, so it still works.
        ok = await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
        assert ok.status_code == 200


async def test_expired_code_is_invalid_grant() -> None:
    world = build_world(now=1_700_000_000.0)
    async with world.browser() as browser:
        verifier = secrets.token_urlsafe(48)
        code = await authorize_code(browser, world, verifier)
        world.clock[0] += 61
        resp = await browser.post("/sandbox/google/token", data=token_form(world, code, verifier))
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


async def test_authorize_rejects_bad_requests() -> None:
    world = build_world()
    good = {
        "response_type": "code",
        "client_id": world.ctx.google_client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": "st",
        "nonce": "n",
        "code_challenge": s256(secrets.token_urlsafe(48)),
        "code_challenge_method": "S256",
        "sandbox_email": "ada@example.com",
    }
    async with world.browser() as browser:

        async def authorize(**changes: str | None) -> httpx.Response:
            params = {k: v for k, v in {**good, **changes}.items() if v is not None}
            return await browser.get("/sandbox/google/authorize", params=params)

        for changes in ({"client_id": "someone-else"}, {"redirect_uri": "not-a-uri"}):
            resp = await authorize(**changes)
            assert resp.status_code == 400, changes
            assert "location" not in resp.headers

        for changes in (
            {"code_challenge": None},
            {"code_challenge_method": "plain"},
            {"nonce": None},
            {"scope": "email profile"},
            {"response_type": "token"},
            {"sandbox_email_verified": "maybe"},
        ):
            resp = await authorize(**changes)
            assert resp.status_code == 302, changes
            location = resp.headers["location"]
            assert location.startswith(f"{CALLBACK}?"), changes
            assert query_of(location)["error"] == "invalid_request", changes
            assert query_of(location)["state"] == "st", changes
