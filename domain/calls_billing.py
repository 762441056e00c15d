"""What an ended call costs, and charging it once.

A learner pays only for a conversation that happened: per connected second at the per-minute
price, rounded up to a whole minor unit, and never for longer than the call was dialled for. A
call that was never answered (no answer, busy, a voicemail greeting) or that the provider broke
costs nothing, because the learner got nothing (``domain/calls_end_reasons.py`` decides each
ended reason).
The charge's ledger business key is ``call:<id>``, so however many end-of-call reports arrive,
and whichever process handles them, one entry exists.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from db.models.accounts import User
from db.models.calls import Call
from domain import ledger
from domain.calls import Pricing
from domain.uow import UnitOfWork

logger = logging.getLogger("callfluently.calls")

@dataclass(frozen=True, slots=True)
class Charge:
    billable_s: int
    amount_minor: int


def charge_for(
    duration_s: float | None, pricing: Pricing, billable: bool, *, cap_s: int | None = None
) -> Charge:
    """Whole seconds rounded up, priced per second, the total rounded up to a minor unit.

    ``cap_s`` is the call's dialled ``maxDurationSeconds``: the learner agreed to pay for at
    most that long, whatever a report claims.
    """
    if not billable or not duration_s or duration_s <= 0:
        return Charge(0, 0)
    seconds = math.ceil(duration_s - 1e-9)
    if cap_s is not None and seconds > cap_s:
        logger.warning("vapi reported a call longer than its limit",
                       extra={"duration_s": seconds, "max_duration_s": cap_s})
        seconds = max(cap_s, 0)
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
