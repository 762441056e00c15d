"""What each Stripe event does to a top-up and the ledger, whatever order events come in.

Every ledger entry has a business key (``topup:<id>``, ``refund:re_…``, ``dispute:du_…``,
``dispute_won:du_…``), so re-deriving it from a later or repeated event is a no-op; and a
top-up's status only moves up a fixed rank, so a late ``completed`` cannot undo a
``refunded``. A refund or dispute that arrives before the credit simply debits first: the
ledger is append-only, so the final balance is the same whatever the order.
"""

from __future__ import annotations

import logging

from db.models.billing import TopUp
from domain import ledger
from domain.billing import TopUpStatus
from domain.billing_events import JSON, Facts, MalformedEvent, json_int, json_str
from domain.ledger import EntryKind
from domain.uow import UnitOfWork

logger = logging.getLogger(__name__)

#: A status never moves to a lower rank (equal ranks do not replace each other either).
_RANK = {
    TopUpStatus.PENDING: 0,
    TopUpStatus.PROCESSING: 1,
    TopUpStatus.FAILED: 2,
    TopUpStatus.EXPIRED: 2,
    TopUpStatus.PAID: 3,
    TopUpStatus.REFUNDED: 4,
}
#: Refunds in these states returned no money, so they are not debited.
_REFUND_VOID = frozenset({"failed", "canceled"})


async def _advance(uow: UnitOfWork, top_up: TopUp, status: TopUpStatus) -> None:
    """Move the status up (never down) with one conditional UPDATE, safe under concurrency."""
    lower = [s.value for s, rank in _RANK.items() if rank < _RANK[status]]
    await TopUp.filter(id=top_up.id, status__in=lower).using_db(uow.conn).update(
        status=status.value
    )


async def _remember_ids(uow: UnitOfWork, top_up: TopUp, *, session: str | None,
                        intent: str | None) -> None:
    if session is not None:
        await TopUp.filter(id=top_up.id, checkout_session_id=None).using_db(uow.conn).update(
            checkout_session_id=session
        )
    if intent is not None:
        await TopUp.filter(id=top_up.id, payment_intent_id=None).using_db(uow.conn).update(
            payment_intent_id=intent
        )


def _same_currency(top_up: TopUp, obj: JSON) -> bool:
    currency = str(obj.get("currency") or "").upper()
    if currency != top_up.currency:
        logger.error(
            "stripe object in another currency ignored",
            extra={"top_up_id": str(top_up.id), "object_id": obj.get("id"), "currency": currency},
        )
        return False
    return True


async def _post(uow: UnitOfWork, top_up: TopUp, kind: EntryKind, amount: int, key: str,
                reference: str) -> None:
    await ledger.post(
        uow,
        account_ref=top_up.account_ref,
        user_id=top_up.user_id,  # type: ignore[attr-defined]
        kind=kind,
        amount_minor=amount,
        currency=top_up.currency,
        business_key=key,
        reference=reference,
    )


async def _credit(uow: UnitOfWork, facts: Facts) -> None:
    """Credit the top-up once (``topup:<id>``), from its own session, never above its amount.

    A signed event can only be trusted to say what Stripe did with *our* session: the session id
    is stored on the top-up when we create it, so an event naming the top-up in its metadata but
    carrying another session, or a total above the top-up's amount, is refused and logged
    (issue 13, finding 2). Top-ups credited before this rule carry ``stripe:<session>`` keys;
    those count as credited too.
    """
    session, top_up = facts.object, facts.top_up
    session_id = json_str(session, "id")
    if session_id is None:
        raise MalformedEvent("checkout.session without an id")
    refusal = _credit_refusal(top_up, session, session_id)
    if refusal is not None:
        logger.warning(refusal, extra={
            "top_up_id": str(top_up.id), "session_id": session_id,
            "amount_total": session.get("amount_total"), "amount_minor": top_up.amount_minor,
        })
        return
    await _remember_ids(uow, top_up, session=session_id, intent=json_str(session, "payment_intent"))
    amount = json_int(session, "amount_total")
    if amount < top_up.amount_minor:
        logger.warning("checkout total below the top-up: crediting what was collected", extra={
            "top_up_id": str(top_up.id), "amount_total": amount,
            "amount_minor": top_up.amount_minor,
        })
    if not await ledger.exists(uow, f"stripe:{session_id}"):
        await _post(uow, top_up, EntryKind.TOP_UP, amount, f"topup:{top_up.id}", session_id)
    await _advance(uow, top_up, TopUpStatus.PAID)


def _credit_refusal(top_up: TopUp, session: JSON, session_id: str) -> str | None:
    """Why this session may not credit this top-up, or None when it may."""
    if top_up.checkout_session_id is not None and session_id != top_up.checkout_session_id:
        return "refused credit: not the top-up's checkout session"
    if not _same_currency(top_up, session):
        return "refused credit: another currency"
    amount = session.get("amount_total")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return "refused credit: no positive amount_total"
    if amount > top_up.amount_minor:
        return "refused credit: checkout total above the top-up's amount"
    return None


async def session_completed(uow: UnitOfWork, facts: Facts) -> None:
    """Paid by card: credit. Unpaid (a delayed method like a bank debit): wait for its outcome."""
    if facts.object.get("payment_status") == "paid":
        await _credit(uow, facts)
        return
    await _remember_ids(uow, facts.top_up, session=json_str(facts.object, "id"),
                        intent=json_str(facts.object, "payment_intent"))
    await _advance(uow, facts.top_up, TopUpStatus.PROCESSING)


async def async_payment_succeeded(uow: UnitOfWork, facts: Facts) -> None:
    await _credit(uow, facts)


async def async_payment_failed(uow: UnitOfWork, facts: Facts) -> None:
    await _remember_ids(uow, facts.top_up, session=json_str(facts.object, "id"),
                        intent=json_str(facts.object, "payment_intent"))
    await _advance(uow, facts.top_up, TopUpStatus.FAILED)


async def session_expired(uow: UnitOfWork, facts: Facts) -> None:
    await _advance(uow, facts.top_up, TopUpStatus.EXPIRED)


async def charge_refunded(uow: UnitOfWork, facts: Facts) -> None:
    """One debit per refund id: the event lists every refund so far, so repeats are no-ops."""
    charge, top_up = facts.object, facts.top_up
    await _remember_ids(uow, top_up, session=None, intent=json_str(charge, "payment_intent"))
    for refund in facts.refunds:
        refund_id = json_str(refund, "id")
        if refund_id is None or refund.get("status") in _REFUND_VOID:
            continue
        if _same_currency(top_up, refund):
            await _post(uow, top_up, EntryKind.REFUND, -json_int(refund, "amount"),
                        f"refund:{refund_id}", refund_id)
    await _advance(uow, top_up, TopUpStatus.REFUNDED if charge.get("refunded") is True
                   else TopUpStatus.PAID)


async def _dispute_debit(uow: UnitOfWork, facts: Facts) -> str | None:
    """Debit the disputed amount once (``dispute:du_…``); inquiries (``warning_*``) move none."""
    dispute, top_up = facts.object, facts.top_up
    dispute_id = json_str(dispute, "id")
    if dispute_id is None:
        raise MalformedEvent("dispute without an id")
    if str(dispute.get("status", "")).startswith("warning_") or not _same_currency(top_up, dispute):
        return None
    amount = json_int(dispute, "amount")
    await _post(uow, top_up, EntryKind.DISPUTE, -amount, f"dispute:{dispute_id}", dispute_id)
    return dispute_id


async def dispute_created(uow: UnitOfWork, facts: Facts) -> None:
    await _dispute_debit(uow, facts)


async def dispute_closed(uow: UnitOfWork, facts: Facts) -> None:
    """Won: the money comes back (``dispute_won:du_…``). The debit is re-derived first, so a
    ``closed`` that overtakes its ``created`` still leaves both entries."""
    dispute_id = await _dispute_debit(uow, facts)
    if dispute_id is not None and facts.object.get("status") == "won":
        await _post(uow, facts.top_up, EntryKind.DISPUTE_REVERSAL, json_int(facts.object, "amount"),
                    f"dispute_won:{dispute_id}", dispute_id)
