from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('policy_version', fields.CharField(max_length=32)),
                ('accepted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consents', 'app': 'privacy', 'unique_together': (('user', 'policy_version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.SET_NULL)),
                ('to_email', fields.CharField(null=True, max_length=320)),
                ('subject', fields.CharField(max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'privacy', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyVersion',
            fields=[
                ('version', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('summary', fields.TextField(unique=False)),
            ],
            options={'table': 'policy_versions', 'app': 'privacy', 'pk_attr': 'version'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PrivacyRequest',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='privacy_requests', on_delete=OnDelete.SET_NULL)),
                ('account_ref', fields.UUIDField(db_index=True)),
                ('kind', fields.CharField(max_length=16)),
                ('jurisdiction', fields.CharField(max_length=8)),
                ('status', fields.CharField(default='received', max_length=16)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'privacy_requests', 'app': 'privacy', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subject', fields.ForeignKeyField('accounts.User', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('actor_id', fields.UUIDField(null=True)),
                ('actor_role', fields.CharField(max_length=16)),
                ('action', fields.CharField(max_length=48)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('details', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('request', fields.ForeignKeyField('privacy.PrivacyRequest', source_field='request_id', null=True, db_constraint=True, to_field='id', related_name='audit', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'privacy', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DataExport',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('request', fields.ForeignKeyField('privacy.PrivacyRequest', source_field='request_id', db_constraint=True, to_field='id', related_name='exports', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='data_exports', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('document', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'data_exports', 'app': 'privacy', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ran_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('counts', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'retention_runs', 'app': 'privacy', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
