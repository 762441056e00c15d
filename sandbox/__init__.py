"""Local twins of our providers (VAPI, Stripe, Anthropic, Google OIDC).

Each speaks the provider's real HTTP wire format so the real SDKs can be pointed at it. The
service mounts every sandbox whose provider has no key under ``/sandbox/<provider>``; tests use
the same mounts through an in-process transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class SandboxContext:
    """What a sandbox needs to reach back to the service it stands in for."""

    #: Where our API lives; webhooks go to ``{public_base_url}/webhooks/<provider>``.
    public_base_url: str
    #: Makes the outbound client a sandbox uses to deliver webhooks (tests route it in-process).
    http_client: Callable[[], httpx.AsyncClient]
    vapi_webhook_secret: str
    stripe_webhook_secret: str
    #: Multiplies every simulated delay; 0 plays scenarios back to back (tests).
    speed: float = 1.0
    #: The OAuth client the Google sandbox accepts.
    google_client_id: str = "sandbox-google-client"
    google_client_secret: str = "sandbox-google-client-secret"
