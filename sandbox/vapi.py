"""A local twin of VAPI's call API, for runs without a VAPI key (local, demos, tests).

The service mounts :func:`create_app` at ``/sandbox/vapi`` and points its plain-httpx VAPI client
here as the base URL, so placing a call exercises the same code as production: ``POST /call``
answers like VAPI (201 Call object, Nest-style 400/401/404 errors), and the call is then "played"
in the background, delivering signed server messages (``status-update``, ``transcript``,
``conversation-update``, ``end-of-call-report``) to ``{public_base_url}/webhooks/vapi``,
authenticated as the dialled ``server`` asks (its ``headers``, or a ``credentialId``). See
:mod:`sandbox.vapi_playback` for the scripts, timing and signing.

Only the message types the assistant's ``serverMessages`` ask for are sent (VAPI's defaults
when unset: ``speech-update`` and ``hang`` but no ``transcript``); every message embeds the call
as created. Scenarios make the awkward cases reproducible: a call the carrier completes (its
report without ``durationSeconds``), one the coach ends with its ``endCall`` tool, unanswered,
busy, voicemail and provider-fault calls, duplicated or shuffled deliveries, and a webhook that
arrives before the POST /call response. Pick one per number (``...0001`` no-answer, ``...0002``
busy, ``...0003`` voicemail, ``...0004`` provider-fault) or with ``POST /_control/scenario``.
The unauthenticated ``/_control`` API also lists calls and deliveries, replays deliveries and
waits for a playback to finish, so tests need not sleep.

Note: Starlette does not run a mounted app's lifespan; the mounting service should
``await app.state.vapi_sandbox.aclose()`` on shutdown (the app's own lifespan does the same when
it runs standalone or under ``asgi_lifespan``).
"""

from __future__ import annotations

import io
import re
import time
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, Final

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import SandboxContext
from sandbox.vapi_credentials import validate_credential
from sandbox.vapi_playback import (
    CONVERSATIONS,
    JSON,
    OUTCOMES,
    SCENARIOS,
    SandboxCall,
    VapiSandbox,
    build_script,
    iso,
    subscribed,
)

__all__ = ["MOUNT_PATH", "create_app"]

#: Where the service mounts this app.
MOUNT_PATH: Final = "/sandbox/vapi"
#: Every sandbox call belongs to this organization.
ORG_ID: Final = "5a4d7b7e-0000-4000-8000-00000000cafe"
#: VAPI validates ``customer.number`` as E.164 unless told otherwise.
E164: Final = re.compile(r"^\+[1-9]\d{1,14}$")
#: VAPI's default and bounds for ``maxDurationSeconds``.
DEFAULT_MAX_DURATION_S: Final = 600
MAX_DURATION_BOUNDS: Final = (10, 43200)
REPLAY_ORDERS: Final = ("same", "shuffled", "reverse")


def _nest(status: int, message: str | list[str], error: str | None = None) -> JSONResponse:
    """VAPI is a NestJS app; its errors carry ``message``, ``error`` and ``statusCode``."""
    body: JSON = {"message": message}
    if error:
        body["error"] = error
    body["statusCode"] = status
    return JSONResponse(body, status_code=status)


def _bad_request(messages: list[str]) -> JSONResponse:
    return _nest(400, messages, "Bad Request")


def _not_found() -> JSONResponse:
    return _nest(404, "Not Found")


def _unauthorized(request: Request) -> JSONResponse | None:
    """Any non-empty bearer key is accepted; VAPI checks the key, the twin only its presence."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return None
    return _nest(
        401,
        "Invalid Key. Hot tip, you may be using the private key instead of the "
        "public key, or vice versa.",
        "Unauthorized",
    )


async def _json_object(request: Request) -> JSON | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _obj(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _max_duration_errors(where: str, value: Any) -> list[str]:
    low, high = MAX_DURATION_BOUNDS
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool):
        return [f"{where} must be an integer number"]
    if value < low:
        return [f"{where} must not be less than {low}"]
    return [f"{where} must not be greater than {high}"] if value > high else []


def validate_create_call(body: JSON) -> list[str]:
    """The class-validator messages VAPI would answer for an outbound ``POST /call``."""
    errors: list[str] = []
    phone_number_id = body.get("phoneNumberId")
    if not isinstance(phone_number_id, str) or not phone_number_id.strip():
        errors.append("phoneNumberId should not be empty")
    customer = body.get("customer")
    if not isinstance(customer, dict):
        errors.append("customer must be an object")
    else:
        number = customer.get("number")
        if not isinstance(number, str) or not E164.match(number):
            errors.append("customer.number must be a valid phone number")
        errors += [
            f"customer.{k} must be a string"
            for k in ("externalId", "name")
            if k in customer and not isinstance(customer[k], str)
        ]
    assistant_id, assistant = body.get("assistantId"), body.get("assistant")
    if assistant_id is None and assistant is None:
        errors.append("assistantId or assistant must be provided")
    if assistant_id is not None and not isinstance(assistant_id, str):
        errors.append("assistantId must be a string")
    if assistant is not None and not isinstance(assistant, dict):
        errors.append("assistant must be an object")
    overrides = body.get("assistantOverrides")
    if overrides is not None and not isinstance(overrides, dict):
        errors.append("assistantOverrides must be an object")
    for where, holder in (("assistant", assistant), ("assistantOverrides", overrides)):
        values = _obj(holder).get("variableValues")
        if values is not None and not isinstance(values, dict):
            errors.append(f"{where}.variableValues must be an object")
        errors += _max_duration_errors(
            f"{where}.maxDurationSeconds", _obj(holder).get("maxDurationSeconds")
        )
    return errors + _max_duration_errors("maxDurationSeconds", body.get("maxDurationSeconds"))


def new_call(
    sandbox: VapiSandbox,
    body: JSON,
    recording_url: Callable[[str, str], str],
) -> SandboxCall:
    """The Call object VAPI answers with, plus the timeline its scenario will play."""
    created_ms = int(time.time() * 1000)
    call_id = str(uuid.uuid4())
    customer: JSON = dict(body["customer"])
    assistant, overrides = _obj(body.get("assistant")), _obj(body.get("assistantOverrides"))
    variables = {**_obj(assistant.get("variableValues")), **_obj(overrides.get("variableValues"))}
    max_duration = next(
        (
            v
            for v in (
                overrides.get("maxDurationSeconds"),
                body.get("maxDurationSeconds"),
                assistant.get("maxDurationSeconds"),
            )
            if v is not None
        ),
        DEFAULT_MAX_DURATION_S,
    )
    name = str(customer.get("name") or "").split()
    first_name = str(variables.get("firstName") or (name[0] if name else "there"))
    topic = str(variables.get("topicTitle") or variables.get("topic") or "your weekend")
    data: JSON = {
        "id": call_id,
        "orgId": ORG_ID,
        "type": "outboundPhoneCall",
        "status": "queued",
        "phoneCallProvider": "twilio",
        "phoneCallTransport": "pstn",
        "phoneCallProviderId": "CA" + uuid.uuid4().hex,
        "phoneNumberId": body["phoneNumberId"],
        "customer": customer,
        "createdAt": iso(created_ms),
        "updatedAt": iso(created_ms),
        "cost": 0,
        "maxDurationSeconds": max_duration,
        "monitor": {
            "listenUrl": f"wss://sandbox.vapi.invalid/{call_id}/listen",
            "controlUrl": f"https://sandbox.vapi.invalid/{call_id}/control",
        },
    }
    for key in ("assistantId", "assistant", "assistantOverrides", "name", "metadata"):
        if body.get(key) is not None:
            data[key] = body[key]
    scenario = sandbox.scenario_for(customer["number"])
    outcome = scenario if scenario in OUTCOMES else "answered"
    urls = {
        kind: recording_url(call_id, f"{kind}.wav")
        for kind in ("mono", "stereo", "assistant", "customer")
    }
    script = build_script(
        outcome=outcome,
        created_ms=created_ms,
        first_name=first_name,
        topic=topic,
        max_duration_s=max_duration,
        recording_urls=urls,
        customer=customer,
    )
    server = _obj(overrides.get("server")) or _obj(assistant.get("server"))
    wanted = overrides.get("serverMessages", assistant.get("serverMessages"))
    return SandboxCall(
        call_id, scenario, data, subscribed(script, wanted), created_ms, server=server
    )


@cache
def _silence_wav() -> bytes:
    """One second of 8 kHz mono silence: enough for a player or a HEAD check."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000)
    return buffer.getvalue()


class _Api:
    """Route handlers bound to one sandbox's state."""

    def __init__(self, sandbox: VapiSandbox) -> None:
        self.sandbox = sandbox

    def _live_call(self, request: Request) -> SandboxCall | None:
        call = self.sandbox.calls.get(request.path_params["call_id"])
        return call if call and call.deleted_at is None else None

    async def create_call(self, request: Request) -> Response:
        if denied := _unauthorized(request):
            return denied
        body = await _json_object(request)
        if body is None:
            return _bad_request(["body must be a JSON object"])
        if errors := validate_create_call(body):
            return _bad_request(errors)

        def recording_url(call_id: str, file: str) -> str:
            # Resolved on this app's own routes: when the service mounts the twin, a route
            # name is only known to the outer router under its mount's prefix.
            path = request.app.url_path_for("vapi_recording", call_id=call_id, file=file)
            return str(request.base_url.replace(path=request.scope.get("root_path", "") + path))

        call = new_call(self.sandbox, body, recording_url)
        self.sandbox.add_call(call)
        snapshot = dict(call.data)
        await self.sandbox.start(call)

        async def response_sent() -> None:
            call.response_sent.set()

        return JSONResponse(snapshot, status_code=201, background=BackgroundTask(response_sent))

    async def create_credential(self, request: Request) -> Response:
        if denied := _unauthorized(request):
            return denied
        body = await _json_object(request)
        if body is None:
            return _bad_request(["body must be a JSON object"])
        if errors := validate_credential(body):
            return _bad_request(errors)
        created = self.sandbox.credentials.create(body, iso(int(time.time() * 1000)))
        return JSONResponse(created, status_code=201)

    async def list_calls(self, request: Request) -> Response:
        if denied := _unauthorized(request):
            return denied
        calls = [c.data for c in self.sandbox.calls.values() if c.deleted_at is None]
        return JSONResponse(sorted(calls, key=lambda c: str(c["createdAt"]), reverse=True))

    async def get_call(self, request: Request) -> Response:
        if denied := _unauthorized(request):
            return denied
        call = self._live_call(request)
        return JSONResponse(call.data) if call else _not_found()

    async def delete_call(self, request: Request) -> Response:
        if denied := _unauthorized(request):
            return denied
        call = self._live_call(request)
        if call is None:
            return _not_found()
        await self.sandbox.delete(call)
        return JSONResponse(call.data)

    async def recording(self, request: Request) -> Response:
        call = self._live_call(request)
        if call is None or call.outcome not in (*CONVERSATIONS, "voicemail"):
            return _not_found()
        return Response(_silence_wav(), media_type="audio/wav")

    def _scenarios(self) -> JSONResponse:
        return JSONResponse(
            {
                "scenario": self.sandbox.default_scenario,
                "numbers": self.sandbox.number_scenarios,
                "available": list(SCENARIOS),
            }
        )

    async def set_scenario(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _bad_request(["body must be a JSON object"])
        scenario, number = body.get("scenario"), body.get("number")
        if scenario is not None and scenario not in SCENARIOS:
            return _bad_request(
                [f"scenario must be one of the following values: {', '.join(SCENARIOS)}"]
            )
        if number is not None and not isinstance(number, str):
            return _bad_request(["number must be a string"])
        if number is None:
            self.sandbox.default_scenario = scenario
        elif scenario is None:
            self.sandbox.number_scenarios.pop(number, None)
        else:
            self.sandbox.number_scenarios[number] = scenario
        return self._scenarios()

    async def get_scenario(self, request: Request) -> Response:
        return self._scenarios()

    async def reset(self, request: Request) -> Response:
        self.sandbox.default_scenario = None
        self.sandbox.number_scenarios.clear()
        return self._scenarios()

    async def control_calls(self, request: Request) -> Response:
        return JSONResponse({"calls": [c.summary() for c in self.sandbox.calls.values()]})

    async def replay(self, request: Request) -> Response:
        call = self.sandbox.calls.get(request.path_params["call_id"])
        if call is None:
            return _not_found()
        body = await _json_object(request) if await request.body() else {}
        if body is None:
            return _bad_request(["body must be a JSON object"])
        order, times = body.get("order", "same"), body.get("times", 1)
        if order not in REPLAY_ORDERS:
            return _bad_request([f"order must be one of: {', '.join(REPLAY_ORDERS)}"])
        if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 100:
            return _bad_request(["times must be an integer from 1 to 100"])
        sent = await self.sandbox.replay(call, order, times)
        return JSONResponse({"callId": call.id, "deliveries": [d.summary() for d in sent]})

    async def deliveries(self, request: Request) -> Response:
        call = self.sandbox.calls.get(request.path_params["call_id"])
        if call is None:
            return _not_found()
        return JSONResponse(
            {
                "callId": call.id,
                "deliveries": [
                    {**d.summary(), "headers": d.headers, "body": d.body} for d in call.deliveries
                ],
            }
        )

    async def wait(self, request: Request) -> Response:
        body = await _json_object(request) if await request.body() else {}
        if body is None:
            return _bad_request(["body must be a JSON object"])
        call_id, timeout = body.get("call_id") or body.get("callId"), body.get("timeout", 10)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
            return _bad_request(["timeout must be a non-negative number"])
        call = self.sandbox.calls.get(str(call_id)) if call_id else None
        if call_id and call is None:
            return _not_found()
        done = await self.sandbox.wait(call, float(timeout))
        status = call.data["status"] if call else None
        return JSONResponse(
            {"done": done, "callId": call_id, "status": status}, status_code=200 if done else 408
        )


def create_app(ctx: SandboxContext) -> Starlette:
    """The VAPI twin; ``app.state.vapi_sandbox`` holds its state (and ``aclose()``)."""
    sandbox = VapiSandbox(ctx)
    api = _Api(sandbox)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.aclose()

    routes = [
        Route("/call", api.create_call, methods=["POST"]),
        Route("/credential", api.create_credential, methods=["POST"]),
        Route("/call", api.list_calls, methods=["GET"]),
        Route("/call/{call_id}", api.get_call, methods=["GET"]),
        Route("/call/{call_id}", api.delete_call, methods=["DELETE"]),
        Route(
            "/recordings/{call_id}/{file}", api.recording, methods=["GET"], name="vapi_recording"
        ),
        Route("/_control/scenario", api.set_scenario, methods=["POST"]),
        Route("/_control/scenario", api.get_scenario, methods=["GET"]),
        Route("/_control/reset", api.reset, methods=["POST"]),
        Route("/_control/calls", api.control_calls, methods=["GET"]),
        Route("/_control/calls/{call_id}/replay", api.replay, methods=["POST"]),
        Route("/_control/deliveries/{call_id}", api.deliveries, methods=["GET"]),
        Route("/_control/wait", api.wait, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.vapi_sandbox = sandbox
    return app
