"""How VAPI proves a server message is VAPI's: each scheme VAPI can be configured to send.

VAPI removed ``server.secret`` in 2025. It now authenticates to us only as the assistant's
``server`` tells it (the dial sets it, ``providers/vapi.py``):

- ``server.credentialId`` naming a webhook credential whose plan is **HMAC** (signature of
  ``{timestamp}.{body}`` in ``x-signature``, timestamp in ``x-timestamp``; algorithm, encoding,
  prefix, payload and header names as VAPI's ``HmacAuthenticationPlan`` allows: our
  ``VAPI_WEBHOOK_HMAC_PLAN`` mirrors it) or **Bearer** (``Authorization: Bearer <secret>``);
- or ``server.headers`` carrying the secret as ``X-Vapi-Secret``.

All use the one ``VAPI_WEBHOOK_SECRET``. Everything fails closed: no secret configured, no
credential, a wrong one, or a timestamp that is not a finite time within five minutes is
refused. Secrets are compared in constant time (digests of equal length, so not even the
length leaks).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

#: A signature older (or newer) than this is refused, so a captured request cannot be replayed.
TOLERANCE_S: Final = 300
PLAN_VARIABLE: Final = "VAPI_WEBHOOK_HMAC_PLAN"
ALGORITHMS: Final = {"sha256": hashlib.sha256, "sha512": hashlib.sha512, "sha1": hashlib.sha1}
ENCODINGS: Final = ("hex", "base64")
SHARED_SECRET_HEADER: Final = "x-vapi-secret"
DEFAULT_PAYLOAD: Final = "{timestamp}.{body}"


@dataclass(frozen=True, slots=True)
class HmacPlan:
    """VAPI's ``HmacAuthenticationPlan`` minus its ``secretKey`` (that is our secret); the
    defaults are VAPI's, and the field names are VAPI's so a plan can be pasted as it is."""

    algorithm: str = "sha256"
    signatureHeader: str = "x-signature"
    timestampHeader: str = "x-timestamp"
    signaturePrefix: str = ""
    includeTimestamp: bool = True
    payloadFormat: str = DEFAULT_PAYLOAD
    messageIdHeader: str = ""
    signatureEncoding: str = "hex"
    secretIsBase64: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> HmacPlan:
        """The plan from ``VAPI_WEBHOOK_HMAC_PLAN`` (JSON, VAPI's camelCase field names; unset:
        VAPI's defaults). A bad value raises ``ValueError`` naming the variable."""
        if not raw or not raw.strip():
            return cls()
        try:
            given = json.loads(raw)
        except ValueError:
            raise ValueError(f"{PLAN_VARIABLE} is not JSON") from None
        if not isinstance(given, dict):
            raise ValueError(f"{PLAN_VARIABLE} must be a JSON object")
        given = {k: v for k, v in given.items() if k not in ("type", "secretKey")}
        defaults = cls()
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(given) - set(known)):
            raise ValueError(f"{PLAN_VARIABLE}: unknown field(s) {', '.join(unknown)}")
        for name, value in given.items():
            wanted = bool if isinstance(getattr(defaults, name), bool) else str
            if not isinstance(value, wanted):
                raise ValueError(f"{PLAN_VARIABLE}: {name} must be a {wanted.__name__}")
        plan = cls(**given)
        if plan.algorithm not in ALGORITHMS:
            raise ValueError(f"{PLAN_VARIABLE}: algorithm must be one of {', '.join(ALGORITHMS)}")
        if plan.signatureEncoding not in ENCODINGS:
            raise ValueError(f"{PLAN_VARIABLE}: signatureEncoding must be hex or base64")
        if not plan.signatureHeader.strip() or "{body}" not in plan.payloadFormat:
            raise ValueError(f"{PLAN_VARIABLE}: signatureHeader is empty or payloadFormat "
                             "lacks {body}")
        return plan

    @property
    def payload(self) -> str:
        """What is signed: without a timestamp, VAPI's default payload is the body alone."""
        if not self.includeTimestamp and self.payloadFormat == DEFAULT_PAYLOAD:
            return "{body}"
        return self.payloadFormat


def _same(given: bytes, expected: bytes) -> bool:
    """Constant time, and blind to length: both sides are hashed to 32 bytes first."""
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected).digest())


def _finite_seconds(stamp: str) -> float | None:
    """A timestamp in seconds or milliseconds; None unless it is a finite number."""
    try:
        value = float(stamp)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None  # ``nan`` compares false with everything: it would never expire
    return value / 1000 if value > 1e11 else value


class VapiAuthenticator:
    """Checks one request's credentials against our secret and HMAC plan."""

    def __init__(self, secret: str, plan: HmacPlan, *, url: str) -> None:
        self._secret = secret.encode()
        self._plan = plan
        self._url = url
        self._key = self._secret
        if plan.secretIsBase64 and secret:
            try:
                self._key = base64.b64decode(secret, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(
                    f"VAPI_WEBHOOK_SECRET is not base64 although {PLAN_VARIABLE} says so"
                ) from None

    def presents_credentials(self, headers: Mapping[str, str]) -> bool:
        """Whether any credential header is there at all: checked before the body is read."""
        return bool(
            headers.get(self._plan.signatureHeader)
            or headers.get("authorization")
            or headers.get(SHARED_SECRET_HEADER)
        )

    def verify(self, headers: Mapping[str, str], raw: bytes, now_s: float) -> bool:
        """Whether the request is authenticated by one scheme; a present HMAC signature is the
        only scheme tried for that request (it cannot fall back to a weaker one)."""
        if not self._secret:
            return False
        signature = headers.get(self._plan.signatureHeader)
        if signature:
            return self._verify_hmac(headers, signature.strip(), raw, now_s)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return _same(token.strip().encode(), self._secret)
        shared = headers.get(SHARED_SECRET_HEADER)
        if shared:
            return _same(shared.encode(), self._secret)
        return False

    def _verify_hmac(
        self, headers: Mapping[str, str], signature: str, raw: bytes, now_s: float
    ) -> bool:
        plan = self._plan
        stamp = headers.get(plan.timestampHeader, "").strip()
        if plan.includeTimestamp:
            sent_at = _finite_seconds(stamp)
            if sent_at is None or abs(now_s - sent_at) > TOLERANCE_S:
                return False
        digest = hmac.new(self._key, self._payload(headers, stamp, raw),
                          ALGORITHMS[plan.algorithm]).digest()
        if plan.signatureEncoding == "hex":
            expected = plan.signaturePrefix + digest.hex()
            given = signature[: len(plan.signaturePrefix)] + signature[
                len(plan.signaturePrefix):].lower()
        else:
            expected, given = plan.signaturePrefix + base64.b64encode(digest).decode(), signature
        return _same(given.encode(), expected.encode())

    def _payload(self, headers: Mapping[str, str], stamp: str, raw: bytes) -> bytes:
        """``payloadFormat`` filled in; the body is spliced in as received, byte for byte."""
        values: dict[str, Any] = {
            "{timestamp}": stamp,
            "{method}": "POST",
            "{url}": self._url,
            "{svix-id}": headers.get(self._plan.messageIdHeader, "")
            if self._plan.messageIdHeader else "",
        }
        parts = []
        for piece in self._plan.payload.split("{body}"):
            for name, value in values.items():
                piece = piece.replace(name, str(value))
            parts.append(piece.encode())
        return raw.join(parts)
