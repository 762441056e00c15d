"""What an ended call costs, and charging it once.

A learner pays only for a conversation that happened: per connected second at the per-minute
price, rounded up to a whole minor unit. A call that was never answered (no answer, busy, a
voicemail greeting) or that the provider broke costs nothing, because the learner got nothing.
The charge's ledger business key is ``call:<id>``, so however many end-of-call reports arrive,
and whichever process handles them, one entry exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from db.models.accounts import User
from db.models.calls import Call
from domain import ledger
from domain.calls import Pricing
from domain.uow import UnitOfWork

#: VAPI ended reasons of calls that never reached the learner.
UNANSWERED_REASONS = frozenset(
    {
        "customer-did-not-answer",
        "customer-busy",
        "voicemail",
        "customer-did-not-give-microphone-permission",
        "assistant-not-found",
        "assistant-not-valid",
        "assistant-not-provided",
        "worker-shutdown",
    }
)
#: Markers of provider faults in VAPI's (long, growing) list of ended reasons.
FAULT_MARKERS = ("error", "failed", "fault", "twilio-", "vonage-", "sip-", "phone-call-provider")


@dataclass(frozen=True, slots=True)
class Charge:
    billable_s: int
    amount_minor: int


def is_billable(ended_reason: str | None, answered: bool) -> bool:
    """Whether an ended call is paid for: answered, and not ended by a miss or a fault."""
    if not answered:
        return False
    if ended_reason is None:
        return True
    reason = ended_reason.lower()
    return reason not in UNANSWERED_REASONS and not any(m in reason for m in FAULT_MARKERS)


def charge_for(duration_s: float | None, pricing: Pricing, billable: bool) -> Charge:
    """Whole seconds rounded up, priced per second, the total rounded up to a minor unit."""
    if not billable or not duration_s or duration_s <= 0:
        return Charge(0, 0)
    seconds = math.ceil(duration_s - 1e-9)
    amount = -(-seconds * pricing.price_per_minute_minor // 60)
    return Charge(seconds, amount)


async def post_charge(uow: UnitOfWork, *, call: Call, user: User, charge: Charge,
                      pricing: Pricing) -> None:
    """Debit the charge from the learner's balance, once per call (no entry for a free call)."""
    if charge.amount_minor <= 0:
        return
    await ledger.post(
        uow,
        account_ref=user.account_ref,
        user_id=user.id,
        kind=ledger.EntryKind.CALL_CHARGE,
        amount_minor=-charge.amount_minor,
        currency=pricing.currency,
        business_key=f"call:{call.id}",
        reference=str(call.id),
    )
