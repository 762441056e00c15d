from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=48)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharField(default='queued', max_length=16)),
                ('run_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=5)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_by', fields.CharField(null=True, max_length=64)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'jobs', 'app': 'ops', 'indexes': [Index(fields=['status', 'run_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=16)),
                ('dedupe_key', fields.CharField(max_length=300)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('body', fields.TextField(null=True, unique=False)),
                ('user_id', fields.UUIDField(null=True, db_index=True)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'ops', 'unique_together': (('provider', 'dedupe_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
