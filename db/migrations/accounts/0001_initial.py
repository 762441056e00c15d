from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=400)),
                ('failures', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'login_throttles', 'app': 'accounts', 'pk_attr': 'key', 'table_description': 'Failed sign-in counter per account or per IP, shared by every process.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account_ref', fields.UUIDField(default=uuid4, unique=True)),
                ('full_name', fields.CharField(null=True, max_length=200)),
                ('email', fields.CharField(null=True, unique=True, max_length=320)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('password_hash', fields.CharField(null=True, max_length=100)),
                ('google_sub', fields.CharField(null=True, unique=True, max_length=255)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('cefr_level', fields.CharField(null=True, max_length=2)),
                ('level_under_review', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='active', db_index=True, max_length=16)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('policy_version', fields.CharField(null=True, max_length=32)),
                ('jurisdiction', fields.CharField(null=True, max_length=8)),
                ('objects_to_analysis', fields.BooleanField(default=False)),
                ('objects_to_service_improvement', fields.BooleanField(default=False)),
                ('processing_restricted', fields.BooleanField(default=False)),
                ('role', fields.CharField(default='learner', max_length=16)),
                ('last_sign_in_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'accounts', 'pk_attr': 'id', 'table_description': 'A learner (or staff member). ``account_ref`` is the pseudonymous key payments keep.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('ip', fields.CharField(null=True, max_length=64)),
                ('user_agent', fields.CharField(null=True, max_length=512)),
                ('device', fields.CharField(null=True, max_length=128)),
                ('method', fields.CharField(default='password', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'sessions', 'app': 'accounts', 'pk_attr': 'id', 'table_description': 'One sign-in: a refresh-token family plus the technical data the policy names.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('token_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('session', fields.ForeignKeyField('accounts.Session', source_field='session_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_tokens', 'app': 'accounts', 'pk_attr': 'token_hash', 'table_description': 'A refresh token, stored only as its SHA-256. A used one presented again revokes the family.'},
            bases=['Model'],
        ),
    ]
