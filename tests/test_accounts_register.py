"""Registration, the session cookies and `me`, through GraphQL over HTTP."""

from __future__ import annotations

import httpx

from tests.conftest import REGISTER, gql, register, unique_email

ME = "{ me { id email phone fullName timezone role status hasPassword } }"


async def test_register_signs_in_and_me_returns_the_learner(client: httpx.AsyncClient) -> None:
    email = unique_email("Ada")

    result = await register(client, email=email, phone="+44 7911 123456")

    assert result["__typename"] == "SignInPayload"
    assert result["user"]["email"] == email.lower()
    assert result["user"]["phone"] == "+447911123456"
    assert result["refreshToken"] is None
    me = (await gql(client, ME))["data"]["me"]
    assert me == {
        "id": result["user"]["id"],
        "email": email.lower(),
        "phone": "+447911123456",
        "fullName": "Ada Learner",
        "timezone": "UTC",
        "role": "LEARNER",
        "status": "ACTIVE",
        "hasPassword": True,
    }


async def test_me_is_null_when_signed_out(client: httpx.AsyncClient) -> None:
    assert (await gql(client, ME))["data"] == {"me": None}


async def test_duplicate_email_in_any_case_is_refused(
    client: httpx.AsyncClient, new_client
) -> None:
    email = unique_email("dup")
    await register(client, email=email)

    async with new_client() as other:
        result = await register(other, email=email.upper())
        assert result == {
            "__typename": "RegisterError",
            "code": "EMAIL_TAKEN",
            "field": "email",
            "message": "An account with this email already exists.",
        }
        assert (await gql(other, ME))["data"] == {"me": None}


async def test_bad_phone_is_a_typed_error_and_creates_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()

    result = await register(client, email=email, phone="12345")

    assert result["__typename"] == "RegisterError"
    assert (result["code"], result["field"]) == ("INVALID_PHONE", "phone")
    assert "cf_access" not in client.cookies and "cf_refresh" not in client.cookies
    retry = await register(client, email=email)
    assert retry["__typename"] == "SignInPayload"


async def test_73_byte_password_refused_at_sign_up_and_invalid_at_login(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    long_password = "é" * 36 + "a"  # 73 bytes in UTF-8, 37 characters

    result = await register(client, email=email, password=long_password)
    assert result == {
        "__typename": "RegisterError",
        "code": "INVALID_PASSWORD",
        "field": "password",
        "message": "Password must be at most 72 bytes (bcrypt's limit).",
    }

    await register(client, email=email, password="a" * 72)
    login = await gql(
        client,
        """
      mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
        __typename ... on LoginError { code message } } }""",
        {"e": email, "p": "a" * 72 + "b"},
    )
    assert login["data"]["login"] == {
        "__typename": "LoginError",
        "code": "INVALID_CREDENTIALS",
        "message": "Email or password is incorrect.",
    }


async def test_short_password_and_bad_email_are_refused(client: httpx.AsyncClient) -> None:
    body = await gql(
        client,
        REGISTER,
        {
            "input": {
                "fullName": "X",
                "email": "not-an-email",
                "phone": "+447911123456",
                "password": "longenough",
            }
        },
    )
    assert body["data"]["register"]["code"] == "INVALID_EMAIL"
    body = await gql(
        client,
        REGISTER,
        {
            "input": {
                "fullName": "X",
                "email": unique_email(),
                "phone": "+447911123456",
                "password": "short",
            }
        },
    )
    assert body["data"]["register"] == {
        "__typename": "RegisterError",
        "code": "INVALID_PASSWORD",
        "field": "password",
        "message": "Password must be at least 8 bytes.",
    }


async def test_auth_cookies_are_httponly_lax_and_only_the_essential_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={
            "query": REGISTER,
            "variables": {
                "input": {
                    "fullName": "Cookie Tester",
                    "email": unique_email(),
                    "phone": "+447911123456",
                    "password": "correct horse battery",
                }
            },
        },
    )

    cookies = response.headers.get_list("set-cookie")
    names = sorted(c.split("=", 1)[0] for c in cookies)
    assert names == ["cf_access", "cf_refresh"]
    for cookie in cookies:
        lowered = cookie.lower()
        assert "httponly" in lowered
        assert "samesite=lax" in lowered
        assert "secure" not in lowered  # served over plain HTTP in this test
    access = next(c for c in cookies if c.startswith("cf_access="))
    refresh = next(c for c in cookies if c.startswith("cf_refresh="))
    assert "Max-Age=900" in access and "Path=/" in access
    assert "Path=/graphql" in refresh


async def test_cookies_are_secure_when_served_over_https(db_url: str, app) -> None:
    """A second app instance on the same (already open) database, public URL over HTTPS."""
    from main import create_app
    from tests.conftest import test_settings

    https_app = create_app(
        test_settings(db_url, public_base_url="https://api.example.test"), bcrypt_rounds=4
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=https_app), base_url="https://api.example.test"
    ) as browser:
        response = await browser.post(
            "/graphql",
            json={
                "query": REGISTER,
                "variables": {
                    "input": {
                        "fullName": "Secure Tester",
                        "email": unique_email(),
                        "phone": "+447911123456",
                        "password": "correct horse battery",
                    }
                },
            },
        )
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert all("; secure" in c.lower() for c in cookies)
