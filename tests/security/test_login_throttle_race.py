"""Issue 13, finding 3: the login throttle holds against parallel guesses.

The lock was read before the 250 ms bcrypt check and the failure written after it, so 60
concurrent guesses (the last one right) gave 59 INVALID_CREDENTIALS and a SignInPayload.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.api.conftest import MakeApp, client_of
from tests.conftest import gql, register, unique_email

LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on LoginError { code } } }"""


async def test_finding_03_parallel_guesses_cannot_outrun_the_throttle(make_app: MakeApp) -> None:
    # A stopped clock: the 1 s lock must not expire while a loaded machine works through 60.
    app = make_app()
    email = unique_email()
    async with client_of(app) as client:
        await register(client, email=email, password="right password")
    guesses = [f"wrong guess {n}" for n in range(59)] + ["right password"]

    async def guess(password: str) -> str:
        async with client_of(app) as c:  # each from its own address: only the account limit binds
            result = (await gql(c, LOGIN, {"e": email, "p": password}))["data"]["login"]
        return str(result.get("code") or result["__typename"])

    outcomes = Counter(await asyncio.gather(*(guess(p) for p in guesses)))

    assert outcomes["SignInPayload"] == 0
    assert outcomes["INVALID_CREDENTIALS"] <= 5  # the free failures, and no more
    assert outcomes["THROTTLED"] == 60 - outcomes["INVALID_CREDENTIALS"]
