from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Balance',
            fields=[
                ('account_ref', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('amount_minor', fields.BigIntField(default=0)),
                ('currency', fields.CharField(max_length=3)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'balances', 'app': 'billing', 'pk_attr': 'account_ref'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_ref', fields.UUIDField(db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharField(max_length=24)),
                ('amount_minor', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('balance_after_minor', fields.BigIntField()),
                ('business_key', fields.CharField(unique=True, max_length=200)),
                ('reference', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_entries', 'app': 'billing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TopUp',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account_ref', fields.UUIDField(db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='top_ups', on_delete=OnDelete.SET_NULL)),
                ('amount_minor', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('checkout_session_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('payment_intent_id', fields.CharField(null=True, db_index=True, max_length=255)),
                ('checkout_url', fields.CharField(null=True, max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'top_ups', 'app': 'billing', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
