"""VAPI over plain httpx: the ``Dialer`` port (create, read and delete calls).

Creating a call is not idempotent, so ``create_call`` never retries: a failure that may have
happened after VAPI received the request is reported as ``DialUncertain`` and left to the
webhooks and the reconciler. Only a request that provably never left (connect failure) is
``ProviderUnavailable``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from domain.calls import (
    DialRejected,
    DialRequest,
    DialUncertain,
    ProviderCall,
    ProviderUnavailable,
)
from settings import Settings

logger = logging.getLogger("callfluently.vapi")

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: The server messages our webhook acts on; VAPI sends nothing else to it. A saved assistant's
#: defaults lack ``transcript``, so the dial always names them.
SERVER_MESSAGES = ["status-update", "transcript", "conversation-update", "end-of-call-report"]
#: The header that carries our secret when no webhook credential is configured.
SECRET_HEADER = "X-Vapi-Secret"
#: Our coach voices mapped to VAPI's own voices.
VOICES = {
    "FRIENDLY_FEMALE": "Paige",
    "FRIENDLY_MALE": "Elliot",
    "CALM_FEMALE": "Savannah",
    "CALM_MALE": "Rohan",
}
FIRST_MESSAGE = (
    "Hi {{firstName}}! This is your CallFluently coach. Today let's talk about {{topicTitle}}. "
    "Are you ready?"
)


def _nest_message(response: httpx.Response) -> str:
    """VAPI (NestJS) errors carry ``message`` as a string or a list of strings."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return f"HTTP {response.status_code}: {message}" if message else f"HTTP {response.status_code}"


class VapiDialer:
    """Implements ``domain.calls.Dialer`` against ``settings.vapi_url``."""

    def __init__(self, settings: Settings, http_client: Callable[[], httpx.AsyncClient]) -> None:
        self._base = settings.vapi_url
        self._key = settings.vapi_api_key
        self._phone_number_id = settings.vapi_phone_number_id
        self._assistant_id = settings.vapi_assistant_id
        self._webhook_url = f"{settings.public_base_url}/webhooks/vapi"
        self._credential_id = settings.vapi_webhook_credential_id
        self._webhook_secret = settings.vapi_webhook_secret
        self._http_client = http_client

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}

    def server(self) -> dict[str, Any]:
        """Where VAPI sends server messages and how it authenticates to us: our webhook
        credential when one is configured, else our secret in a header (VAPI removed
        ``server.secret``; without either, its messages arrive unauthenticated and are refused).
        """
        server: dict[str, Any] = {"url": self._webhook_url}
        if self._credential_id:
            server["credentialId"] = self._credential_id
        elif self._webhook_secret:
            server["headers"] = {SECRET_HEADER: str(self._webhook_secret)}
        return server

    def call_body(self, request: DialRequest) -> dict[str, Any]:
        """The ``POST /call`` body: a saved assistant with overrides, or an inline one; either
        way with our server, its authentication and the server messages we act on."""
        body: dict[str, Any] = {
            "phoneNumberId": self._phone_number_id,
            "customer": {
                "number": request.phone,
                "externalId": str(request.call_id),
                "name": request.first_name,
            },
        }
        overrides: dict[str, Any] = {"variableValues": dict(request.variables)}
        if self._assistant_id:
            body["assistantId"] = self._assistant_id
            overrides["maxDurationSeconds"] = request.max_duration_s
            overrides["serverMessages"] = SERVER_MESSAGES
            overrides["server"] = self.server()
        else:
            body["assistant"] = {
                "name": "CallFluently coach",
                "firstMessage": FIRST_MESSAGE,
                "model": {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "messages": [{"role": "system", "content": request.instructions}],
                },
                "voice": {"provider": "vapi", "voiceId": VOICES.get(request.coach_voice, "Paige")},
                "maxDurationSeconds": request.max_duration_s,
                "serverMessages": SERVER_MESSAGES,
                "server": self.server(),
            }
        body["assistantOverrides"] = overrides
        return body

    async def create_call(self, request: DialRequest) -> ProviderCall:
        """``POST /call`` once; see the module docstring for what each failure means."""
        try:
            async with self._http_client() as client:
                response = await client.post(
                    f"{self._base}/call", json=self.call_body(request), headers=self._headers(),
                    timeout=TIMEOUT,
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise DialUncertain(type(exc).__name__) from exc
        if response.is_success:
            return self._provider_call(response, uncertain=True)
        logger.warning("vapi refused a call", extra={"status": response.status_code,
                                                     "call_id": str(request.call_id)})
        raise DialRejected(_nest_message(response))

    async def get_call(self, provider_call_id: str) -> ProviderCall | None:
        """``GET /call/{id}``; None when VAPI does not know the call."""
        response = await self._request("GET", provider_call_id)
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise ProviderUnavailable(_nest_message(response))
        return self._provider_call(response, uncertain=False)

    async def delete_call(self, provider_call_id: str) -> bool:
        """``DELETE /call/{id}`` (the call and its recording); False when already gone."""
        response = await self._request("DELETE", provider_call_id)
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise ProviderUnavailable(_nest_message(response))
        return True

    async def _request(self, method: str, provider_call_id: str) -> httpx.Response:
        """Reads and deletes are safe to repeat, so any transport failure is just "try later"."""
        try:
            async with self._http_client() as client:
                return await client.request(
                    method, f"{self._base}/call/{quote(provider_call_id, safe='')}",
                    headers=self._headers(), timeout=TIMEOUT,
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc

    @staticmethod
    def _provider_call(response: httpx.Response, *, uncertain: bool) -> ProviderCall:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            error = DialUncertain if uncertain else ProviderUnavailable
            raise error("VAPI answered without a call object")
        return ProviderCall(id=data["id"], status=str(data.get("status", "")), data=data)
