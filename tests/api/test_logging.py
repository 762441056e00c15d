"""Structured JSON logs carry the request context and never a password, token or transcript."""

from __future__ import annotations

import copy
import json
import logging
import uuid

import httpx
import pytest

from observability.logs import JsonFormatter, Redact, RequestContext, bound
from tests.conftest import gql, register, unique_email

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password, tokenDelivery: BODY) {
    ... on SignInPayload { accessToken refreshToken } ... on LoginError { code } } }
"""


def as_json(record: logging.LogRecord) -> str:
    """A record as our production handler writes it (context, redaction, JSON)."""
    record = copy.copy(record)
    RequestContext().filter(record)
    Redact().filter(record)
    return JsonFormatter().format(record)


async def test_logs_of_a_login_contain_no_password_or_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    email, password = unique_email("logs"), f"pw-{uuid.uuid4().hex}"
    await register(client, email=email, password=password)

    with caplog.at_level(logging.DEBUG):
        wrong = await gql(client, LOGIN, {"email": email, "password": password + "x"})
        signed_in = (await gql(client, LOGIN, {"email": email, "password": password}))["data"]
        await gql(client, "{ me { id } }",
                  headers={"authorization": f"Bearer {signed_in['login']['accessToken']}"})

    secrets = [password, password + "x", signed_in["login"]["accessToken"],
               signed_in["login"]["refreshToken"]]
    assert wrong["data"]["login"] == {"code": "INVALID_CREDENTIALS"}
    operations = [r for r in caplog.records if r.getMessage() == "graphql operation"]
    assert len(operations) == 3
    for record in caplog.records:
        raw = " ".join([record.getMessage(), *map(str, vars(record).values())])
        written = as_json(record)
        for secret in secrets:
            assert secret not in raw, record.name
            assert secret not in written, record.name


def test_json_lines_carry_the_request_context() -> None:
    record = logging.LogRecord("callfluently.test", logging.INFO, __file__, 1, "call started",
                               None, None)
    record.call_id = "c-1"

    with bound(request_id="req-1", operation="StartCall", user_id="u-1", api_key_id="k-1"):
        line = json.loads(as_json(record))

    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "operation",
                                 "user_id", "api_key_id", "call_id")} == {
        "level": "INFO", "logger": "callfluently.test", "message": "call started",
        "request_id": "req-1", "operation": "StartCall", "user_id": "u-1", "api_key_id": "k-1",
        "call_id": "c-1"}


def test_redaction_masks_secret_extras_and_credentials_in_messages() -> None:
    record = logging.LogRecord(
        "callfluently.test", logging.WARNING, __file__, 1,
        "retrying with %s after %s", ("Bearer abc.def.ghi", "cfk_abcdefghijklmnop"), None,
    )
    record.password = "hunter2"
    record.refresh_token = "r-123"
    record.transcript = "I would like to book a table"
    record.api_key_id = "kept"
    record.path = "/graphql?query=q&variables={\"password\":\"x\"}"

    line = json.loads(as_json(record))

    assert line["message"] == "retrying with Bearer [redacted] after cfk_[redacted]"
    assert (line["password"], line["refresh_token"], line["transcript"]) == ("[redacted]",) * 3
    assert line["api_key_id"] == "kept"
    assert line["path"] == "/graphql?query=q&variables=[redacted]"


def test_export_download_tokens_in_access_log_paths_are_masked() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/privacy/exports/Zx9-secret_Token.abc", "1.1", 200), None,
    )

    line = json.loads(as_json(record))

    assert line["message"] == '127.0.0.1:5000 - "GET /privacy/exports/[redacted] HTTP/1.1" 200'
