"""The prepaid balance: append-only ledger, cached balance, Stripe top-ups.

Rows are keyed by ``account_ref`` (pseudonymous) so payment records outlive account deletion.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from db.models.accounts import User


class Balance(Model):
    account_ref = fields.UUIDField(primary_key=True)
    amount_minor = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "balances"


class LedgerEntry(Model):
    id = fields.BigIntField(primary_key=True)
    account_ref = fields.UUIDField(db_index=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="ledger_entries", null=True, on_delete=fields.SET_NULL
    )
    kind = fields.CharField(max_length=24)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    balance_after_minor = fields.BigIntField()
    business_key = fields.CharField(max_length=200, unique=True)
    reference = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entries"


class TopUp(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    account_ref = fields.UUIDField(db_index=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "accounts.User", related_name="top_ups", null=True, on_delete=fields.SET_NULL
    )
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=16, default="pending")
    checkout_session_id = fields.CharField(max_length=255, unique=True, null=True)
    payment_intent_id = fields.CharField(max_length=255, null=True, db_index=True)
    checkout_url = fields.CharField(max_length=2000, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "top_ups"
