"""Sessions: refresh rotation and reuse detection, logout, throttling, Bearer auth, revocation."""

from __future__ import annotations

from datetime import timedelta

import httpx

from domain.clock import ManualClock
from tests.conftest import gql, register, unique_email

ME = "{ me { email } }"
LOGIN = """
mutation($e: String!, $p: String!, $d: TokenDelivery! = COOKIE) {
  login(email: $e, password: $p, tokenDelivery: $d) {
    __typename
    ... on SignInPayload { accessToken refreshToken session { id } }
    ... on LoginError { code message retryAfterSeconds field }
  }
}"""
REFRESH = """
mutation($t: String, $d: TokenDelivery! = COOKIE) {
  refreshSession(refreshToken: $t, tokenDelivery: $d) {
    __typename
    ... on SignInPayload { accessToken refreshToken }
    ... on RefreshSessionError { code message }
  }
}"""
SESSIONS = "{ sessions { id device ip userAgent method current revokedAt } }"


async def test_register_me_refresh_logout(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email=email)
    old_access = client.cookies["cf_access"]
    old_refresh = client.cookies["cf_refresh"]

    refreshed = (await gql(client, REFRESH))["data"]["refreshSession"]

    assert refreshed["__typename"] == "SignInPayload"
    assert client.cookies["cf_refresh"] != old_refresh
    assert client.cookies["cf_access"] != old_access or refreshed["accessToken"]
    assert (await gql(client, ME))["data"]["me"] == {"email": email.lower()}

    assert (await gql(client, "mutation { logout }"))["data"] == {"logout": True}
    assert "cf_access" not in client.cookies and "cf_refresh" not in client.cookies
    assert (await gql(client, ME))["data"]["me"] is None
    # The old access token stops working at once, not when it expires.
    assert (await gql(client, ME, headers={"authorization": f"Bearer {old_access}"}))["data"][
        "me"
    ] is None


async def test_reusing_a_rotated_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, new_client
) -> None:
    email = unique_email()
    first = await register(client, email=email, delivery="BODY")
    stolen = first["refreshToken"]
    assert stolen

    rotated = (await gql(client, REFRESH, {"t": stolen, "d": "BODY"}))["data"]["refreshSession"]
    assert rotated["__typename"] == "SignInPayload"

    async with new_client() as attacker:
        reuse = (await gql(attacker, REFRESH, {"t": stolen}))["data"]["refreshSession"]
    assert reuse == {
        "__typename": "RefreshSessionError",
        "code": "REFRESH_TOKEN_REUSED",
        "message": "This refresh token was already used; every session of its family was "
        "signed out.",
    }
    # The legitimate holder's newer token and access token are dead too.
    again = (await gql(client, REFRESH, {"t": rotated["refreshToken"]}))["data"]["refreshSession"]
    assert again["code"] == "INVALID_REFRESH_TOKEN"
    me = await gql(client, ME, headers={"authorization": f"Bearer {rotated['accessToken']}"})
    assert me["data"]["me"] is None


async def test_refresh_without_token_is_a_typed_error(client: httpx.AsyncClient) -> None:
    result = (await gql(client, REFRESH))["data"]["refreshSession"]
    assert result == {
        "__typename": "RefreshSessionError",
        "code": "INVALID_REFRESH_TOKEN",
        "message": "No refresh token: sign in again.",
    }


async def test_bearer_token_authenticates_without_cookies(
    client: httpx.AsyncClient, new_client
) -> None:
    email = unique_email()
    token = (await register(client, email=email))["accessToken"]

    async with new_client() as partner:
        body = await gql(partner, ME, headers={"authorization": f"Bearer {token}"})
        assert body["data"]["me"] == {"email": email.lower()}
        forged = await gql(partner, ME, headers={"authorization": "Bearer not.a.jwt"})
        assert forged["data"]["me"] is None


async def test_access_token_expires_after_fifteen_minutes(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = (await register(client))["accessToken"]
    headers = {"authorization": f"Bearer {token}"}
    clock.advance(timedelta(minutes=14))
    try:
        assert (await gql(client, ME, headers=headers))["data"]["me"] is not None
        clock.advance(timedelta(minutes=2))
        assert (await gql(client, ME, headers=headers))["data"]["me"] is None
    finally:
        clock.advance(timedelta(minutes=-16))


async def test_wrong_passwords_are_throttled_per_account(
    client: httpx.AsyncClient, clock: ManualClock, new_client
) -> None:
    email = unique_email()
    await register(client, email=email, password="right password")
    codes = []
    for _ in range(5):
        result = (await gql(client, LOGIN, {"e": email, "p": "wrong password"}))["data"]["login"]
        codes.append(result["code"])
    assert codes == ["INVALID_CREDENTIALS"] * 5
    # Even the right password is refused while the lock lasts, from any IP.
    async with new_client() as elsewhere:
        throttled = await gql(elsewhere, LOGIN, {"e": email, "p": "right password"})
    throttled = throttled["data"]["login"]
    assert throttled == {
        "__typename": "LoginError",
        "code": "THROTTLED",
        "retryAfterSeconds": 1,
        "field": None,
        "message": "Too many failed sign-in attempts. Try again in 1 second.",
    }
    clock.advance(timedelta(seconds=1))
    try:
        sixth = (await gql(client, LOGIN, {"e": email, "p": "wrong again"}))["data"]["login"]
        locked = (await gql(client, LOGIN, {"e": email, "p": "right password"}))["data"]["login"]
    finally:
        clock.advance(timedelta(seconds=-1))
    assert sixth["code"] == "INVALID_CREDENTIALS"
    assert (locked["code"], locked["retryAfterSeconds"]) == ("THROTTLED", 2)

    clock.advance(timedelta(seconds=3))
    try:
        ok = (await gql(client, LOGIN, {"e": email, "p": "right password"}))["data"]["login"]
    finally:
        clock.advance(timedelta(seconds=-3))
    assert ok["__typename"] == "SignInPayload"


async def test_unknown_email_login_is_the_same_error(client: httpx.AsyncClient) -> None:
    result = await gql(client, LOGIN, {"e": unique_email("nobody"), "p": "whatever1"})
    assert result["data"]["login"] == {
        "__typename": "LoginError",
        "code": "INVALID_CREDENTIALS",
        "message": "Email or password is incorrect.",
        "retryAfterSeconds": None,
        "field": None,
    }


async def test_sessions_list_own_sign_ins_and_revoke_one(
    client: httpx.AsyncClient, new_client
) -> None:
    email = unique_email()
    await register(client, email=email, password="pass word 1")
    async with new_client() as phone:
        signed = await gql(
            phone,
            LOGIN,
            {"e": email, "p": "pass word 1"},
            headers={"user-agent": "Mozilla/5.0 (iPhone) Safari/604.1"},
        )
        phone_session = signed["data"]["login"]["session"]["id"]

        listed = (await gql(client, SESSIONS))["data"]["sessions"]
        assert len(listed) == 2
        mine = next(s for s in listed if s["current"])
        assert mine["device"] == "Firefox on Linux"
        assert mine["ip"].startswith("198.")
        other = next(s for s in listed if not s["current"])
        assert other["id"] == phone_session and other["device"] == "Safari on iOS"

        revoked = await gql(
            client,
            """mutation($id: ID!) { revokeSession(id: $id) {
            __typename ... on Session { id revokedAt } } }""",
            {"id": phone_session},
        )
        assert revoked["data"]["revokeSession"]["revokedAt"] is not None
        assert (await gql(phone, ME))["data"]["me"] is None


async def test_learner_cannot_read_or_revoke_anothers_sessions(
    client: httpx.AsyncClient, new_client
) -> None:
    await register(client)
    a_sessions = (await gql(client, SESSIONS))["data"]["sessions"]
    async with new_client() as b:
        await register(b)
        b_sessions = (await gql(b, SESSIONS))["data"]["sessions"]
        assert {s["id"] for s in b_sessions}.isdisjoint({s["id"] for s in a_sessions})

        attempt = await gql(
            b,
            """mutation($id: ID!) { revokeSession(id: $id) {
            __typename ... on RevokeSessionError { code field message } } }""",
            {"id": a_sessions[0]["id"]},
        )
        assert attempt["data"]["revokeSession"] == {
            "__typename": "RevokeSessionError",
            "code": "NOT_FOUND",
            "field": "id",
            "message": "No such session.",
        }
    assert (await gql(client, ME))["data"]["me"] is not None


async def test_private_fields_signed_out_are_typed_unauthenticated(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(client, SESSIONS, expect_errors=True)
    assert body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("Sign in to do this.", "UNAUTHENTICATED")
    ]
    change = await gql(
        client,
        'mutation { updateProfile(input: {fullName: "X"}) { __typename } }',
        expect_errors=True,
    )
    assert change["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_update_profile_and_change_password(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email=email, password="first password")

    bad = await gql(
        client,
        """mutation { updateProfile(input: {timezone: "Mars/Olympus"}) {
        __typename ... on UpdateProfileError { code field message } } }""",
    )
    assert bad["data"]["updateProfile"] == {
        "__typename": "UpdateProfileError",
        "code": "INVALID_TIMEZONE",
        "field": "timezone",
        "message": "Use an IANA timezone name such as Europe/Istanbul.",
    }
    good = await gql(
        client,
        """mutation { updateProfile(input: {fullName: "  Ada   Lovelace ",
        phone: "+90 532 123 45 67", timezone: "Europe/Istanbul"}) {
        ... on User { fullName phone timezone } } }""",
    )
    assert good["data"]["updateProfile"] == {
        "fullName": "Ada Lovelace",
        "phone": "+905321234567",
        "timezone": "Europe/Istanbul",
    }

    wrong = await gql(
        client,
        """mutation { changePassword(currentPassword: "nope nope",
        newPassword: "second password") {
          __typename ... on ChangePasswordError { code field } } }""",
    )
    assert wrong["data"]["changePassword"] == {
        "__typename": "ChangePasswordError",
        "code": "INVALID_CREDENTIALS",
        "field": "currentPassword",
    }
    changed = await gql(
        client,
        """mutation { changePassword(currentPassword: "first password",
        newPassword: "second password") { __typename } }""",
    )
    assert changed["data"]["changePassword"]["__typename"] == "User"
    login = await gql(client, LOGIN, {"e": email, "p": "second password"})
    assert login["data"]["login"]["__typename"] == "SignInPayload"


async def test_many_failures_from_one_ip_are_throttled_across_accounts(app) -> None:
    from tests.conftest import browser_transport

    ip = "198.18.250.250"
    async with httpx.AsyncClient(
        transport=browser_transport(app, ip), base_url="http://testserver"
    ) as spray:
        codes = [
            (await gql(spray, LOGIN, {"e": unique_email("spray"), "p": "guess guess"}))["data"][
                "login"
            ]["code"]
            for _ in range(21)
        ]
    assert codes == ["INVALID_CREDENTIALS"] * 20 + ["THROTTLED"]


async def test_revoking_a_malformed_session_id_is_a_typed_not_found(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    result = await gql(
        client,
        """mutation { revokeSession(id: "not-a-global-id") {
        __typename ... on RevokeSessionError { code field message } } }""",
    )
    assert result["data"]["revokeSession"] == {
        "__typename": "RevokeSessionError",
        "code": "NOT_FOUND",
        "field": "id",
        "message": "No such session.",
    }
