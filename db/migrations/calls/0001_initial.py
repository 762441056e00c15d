from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True
    dependencies = [("accounts", "0001_initial"), ("topics", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='Call',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='calls', on_delete=OnDelete.CASCADE)),
                ('topic', fields.ForeignKeyField('topics.Topic', source_field='topic_id', null=True, db_constraint=True, to_field='id', related_name='calls', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='requested', db_index=True, max_length=16)),
                ('ended_reason', fields.CharField(null=True, max_length=128)),
                ('failure_reason', fields.CharField(null=True, max_length=500)),
                ('provider_call_id', fields.CharField(null=True, unique=True, max_length=128)),
                ('plan_slot', fields.CharField(null=True, max_length=64)),
                ('max_duration_s', fields.IntField(default=600)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('duration_s', fields.IntField(null=True)),
                ('billable_s', fields.IntField(null=True)),
                ('charge_minor', fields.IntField(null=True)),
                ('recording_url', fields.CharField(null=True, max_length=1000)),
                ('recording_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'calls', 'app': 'calls', 'indexes': [Index(fields=['user_id', 'requested_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CallPlan',
            fields=[
                ('user', fields.OneToOneField('accounts.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='call_plan', on_delete=OnDelete.CASCADE)),
                ('days_of_week', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('local_time', fields.CharField(max_length=5)),
                ('timezone', fields.CharField(max_length=64)),
                ('minutes_per_call', fields.IntField()),
                ('active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'call_plans', 'app': 'calls', 'pk_attr': 'user_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Preferences',
            fields=[
                ('user', fields.OneToOneField('accounts.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='preferences', on_delete=OnDelete.CASCADE)),
                ('coach_voice', fields.CharField(default='FRIENDLY_FEMALE', max_length=32)),
                ('correction_style', fields.CharField(default='GENTLE', max_length=32)),
                ('target_level', fields.CharField(default='B2', max_length=2)),
                ('explanation_language', fields.CharField(default='en', max_length=8)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'preferences', 'app': 'calls', 'pk_attr': 'user_id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TranscriptTurn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('call', fields.ForeignKeyField('calls.Call', source_field='call_id', db_constraint=True, to_field='id', related_name='turns', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('role', fields.CharField(max_length=8)),
                ('text', fields.TextField(unique=False)),
                ('start_s', fields.FloatField(null=True)),
                ('end_s', fields.FloatField(null=True)),
                ('confidence', fields.FloatField(null=True)),
            ],
            options={'table': 'transcript_turns', 'app': 'calls', 'unique_together': (('call', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
