"""The twin's webhook credentials: ``POST /credential`` and how VAPI authenticates with each.

A real assistant's ``server.credentialId`` names a credential whose ``authenticationPlan`` is
HMAC or Bearer; VAPI then signs (or bears) every server message with it. The twin keeps the
credentials created through its API and does the same, written from VAPI's published plan
(``HmacAuthenticationPlan``, ``BearerAuthenticationPlan``), independently of our webhook's
checker. A ``credentialId`` the twin never saw stands for its one built-in credential: HMAC
with VAPI's defaults over the sandbox secret, so a local run needs no setup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]

ALGORITHMS: Final = {"sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1}
PLAN_TYPES: Final = ("hmac", "bearer")


def validate_credential(body: JSON) -> list[str]:
    """The class-validator messages VAPI would answer for a webhook credential."""
    errors: list[str] = []
    if body.get("provider") != "webhook":
        errors.append("provider must be one of the following values: webhook")
    plan = body.get("authenticationPlan")
    if not isinstance(plan, dict) or plan.get("type") not in PLAN_TYPES:
        return [*errors,
                "authenticationPlan.type must be one of the following values: hmac, bearer"]
    if plan["type"] == "hmac":
        if not isinstance(plan.get("secretKey"), str) or not plan["secretKey"]:
            errors.append("authenticationPlan.secretKey should not be empty")
        if plan.get("algorithm") not in ALGORITHMS:
            errors.append("authenticationPlan.algorithm must be one of the following values: "
                          "sha256, sha512, sha1")
        if plan.get("signatureEncoding", "hex") not in ("hex", "base64"):
            errors.append("authenticationPlan.signatureEncoding must be one of the following "
                          "values: hex, base64")
    elif not isinstance(plan.get("token"), str) or not plan["token"]:
        errors.append("authenticationPlan.token should not be empty")
    return errors


@dataclass(slots=True)
class Credentials:
    """The credentials created on this twin, by id."""

    default_secret: str
    by_id: dict[str, JSON] = field(default_factory=dict)

    def create(self, body: JSON, now: str) -> JSON:
        credential = {
            "id": str(uuid.uuid4()),
            "orgId": "5a4d7b7e-0000-4000-8000-00000000cafe",
            "provider": "webhook",
            "name": body.get("name"),
            "authenticationPlan": body["authenticationPlan"],
            "createdAt": now,
            "updatedAt": now,
        }
        self.by_id[credential["id"]] = credential
        return credential

    def headers(self, server: JSON, body: str, url: str) -> dict[str, str]:
        """What VAPI sends to authenticate a message with ``body`` to ``server``: its
        credential's, else its ``headers``, else nothing at all."""
        credential_id = server.get("credentialId")
        if credential_id:
            known = self.by_id.get(str(credential_id))
            plan = known["authenticationPlan"] if known else {
                "type": "hmac", "secretKey": self.default_secret, "algorithm": "sha256"}
            if plan["type"] == "bearer":
                return _bearer(plan)
            return _hmac(plan, body, url)
        given = server.get("headers")
        if isinstance(given, dict):
            return {str(k): str(v) for k, v in given.items()}
        return {}


def _bearer(plan: JSON) -> dict[str, str]:
    prefix = "Bearer " if plan.get("bearerPrefixEnabled", True) else ""
    return {str(plan.get("headerName") or "Authorization"): prefix + str(plan["token"])}


def _hmac(plan: JSON, body: str, url: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    message_id = str(uuid.uuid4())
    include = plan.get("includeTimestamp", True)
    default = "{timestamp}.{body}" if include else "{body}"
    payload = str(plan.get("payloadFormat") or default)
    for name, value in (("{timestamp}", timestamp), ("{method}", "POST"), ("{url}", url),
                        ("{svix-id}", message_id), ("{body}", body)):
        payload = payload.replace(name, value)
    secret = str(plan["secretKey"])
    key = base64.b64decode(secret) if plan.get("secretIsBase64") else secret.encode()
    digest = hmac.new(key, payload.encode(), ALGORITHMS[plan["algorithm"]]).digest()
    encoded = (
        base64.b64encode(digest).decode()
        if plan.get("signatureEncoding") == "base64"
        else digest.hex()
    )
    headers = {str(plan.get("signatureHeader") or "x-signature"):
               str(plan.get("signaturePrefix") or "") + encoded}
    if include:
        headers[str(plan.get("timestampHeader") or "x-timestamp")] = timestamp
    if plan.get("messageIdHeader"):
        headers[str(plan["messageIdHeader"])] = message_id
    return headers
