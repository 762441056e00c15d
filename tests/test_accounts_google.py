"""Google sign-in end to end against the sandbox OpenID provider (discovery, JWKS, PKCE)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import gql, register, unique_email

ME = "{ me { email fullName googleLinked hasPassword } }"


async def google_round_trip(client: httpx.AsyncClient, **identity: str) -> httpx.Response:
    """Follow /auth/google/login through the sandbox provider back to our callback."""
    params = {f"sandbox_{k}": v for k, v in identity.items()}
    response = await client.get("/auth/google/login", params=params)
    assert response.status_code == 302
    authorize = urlsplit(response.headers["location"])
    assert authorize.path == "/sandbox/google/authorize"
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"]
    assert "nonce" in query and "state" in query
    assert "cf_oauth" in client.cookies  # the short-lived OAuth state cookie
    response = await client.get(response.headers["location"])
    assert response.status_code == 302
    return await client.get(response.headers["location"])


async def test_google_sign_in_creates_an_account_and_signs_in(client: httpx.AsyncClient) -> None:
    email = unique_email("google")

    final = await google_round_trip(client, email=email, name="Grace Google")

    assert final.status_code == 303
    assert final.headers["location"] == "http://testserver/?signedIn=google"
    set_cookies = sorted(c.split("=", 1)[0] for c in final.headers.get_list("set-cookie"))
    assert set_cookies == ["cf_access", "cf_oauth", "cf_refresh"]
    oauth_cookie = next(c for c in final.headers.get_list("set-cookie") if c.startswith("cf_oauth"))
    assert "Max-Age=0" in oauth_cookie or "expires=Thu, 01 Jan 1970" in oauth_cookie
    me = (await gql(client, ME))["data"]["me"]
    assert me == {"email": email.lower(), "fullName": "Grace Google", "googleLinked": True,
                  "hasPassword": False}


async def test_google_links_an_existing_account_only_through_a_verified_email(
    client: httpx.AsyncClient, new_client
) -> None:
    email = unique_email("link")
    await register(client, email=email)
    await gql(client, "mutation { logout }")

    async with new_client() as browser:
        refused = await google_round_trip(browser, email=email, email_verified="false")
        assert refused.headers["location"] == "http://testserver/?signInError=EMAIL_NOT_VERIFIED"
        assert (await gql(browser, ME))["data"]["me"] is None

        linked = await google_round_trip(browser, email=email, email_verified="true")
        assert linked.headers["location"] == "http://testserver/?signedIn=google"
        me = (await gql(browser, ME))["data"]["me"]
        assert me == {"email": email.lower(), "fullName": "Ada Learner", "googleLinked": True,
                      "hasPassword": True}


async def test_google_sign_in_keys_on_sub_not_email(client: httpx.AsyncClient, new_client) -> None:
    email = unique_email("sub")
    await google_round_trip(client, email=email, sub="111222333444555666777")

    async with new_client() as other:
        # Same Google account (sub), new email at Google: still the same learner.
        await google_round_trip(other, email=unique_email("renamed"), sub="111222333444555666777")
        me = (await gql(other, ME))["data"]["me"]
        assert me["email"] == email.lower()


async def test_callback_without_state_fails_cleanly(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/google/callback", params={"code": "forged", "state": "x"})

    assert response.status_code == 303
    assert response.headers["location"] == "http://testserver/?signInError=GOOGLE_SIGN_IN_FAILED"
    assert "cf_access" not in client.cookies
