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
    dependencies = [("accounts", "0001_initial"), ("calls", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='Analysis',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('call', fields.OneToOneField('calls.Call', source_field='call_id', db_constraint=True, to_field='id', related_name='analysis', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='analyses', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('grammar', fields.IntField(null=True)),
                ('vocabulary', fields.IntField(null=True)),
                ('fluency', fields.IntField(null=True)),
                ('pronunciation', fields.IntField(null=True)),
                ('pronunciation_basis', fields.CharField(null=True, max_length=32)),
                ('pronunciation_confidence', fields.FloatField(null=True)),
                ('cefr_level', fields.CharField(null=True, max_length=2)),
                ('summary', fields.TextField(null=True, unique=False)),
                ('strengths', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('vocabulary_suggestions', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('next_focus', fields.TextField(null=True, unique=False)),
                ('fluency_evidence', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('model', fields.CharField(null=True, max_length=100)),
                ('prompt_version', fields.CharField(null=True, max_length=32)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analyses', 'app': 'analysis', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Correction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('analysis', fields.ForeignKeyField('analysis.Analysis', source_field='analysis_id', db_constraint=True, to_field='id', related_name='corrections', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='corrections', on_delete=OnDelete.CASCADE)),
                ('call_id', fields.UUIDField()),
                ('original', fields.TextField(unique=False)),
                ('corrected', fields.TextField(unique=False)),
                ('explanation', fields.TextField(unique=False)),
                ('category', fields.CharField(max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'corrections', 'app': 'analysis', 'indexes': [Index(fields=['user_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LevelHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='level_history', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cefr_level', fields.CharField(max_length=2)),
                ('previous_level', fields.CharField(null=True, max_length=2)),
                ('analysis', fields.ForeignKeyField('analysis.Analysis', source_field='analysis_id', null=True, db_constraint=True, to_field='id', related_name='level_changes', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.TextField(unique=False)),
            ],
            options={'table': 'level_history', 'app': 'analysis', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
