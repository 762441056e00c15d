from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('accounts', '0001_initial'), ('analysis', '0001_initial'), ('calls', '0002_plan_effective_from')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProgressCall',
            fields=[
                ('call', fields.OneToOneField('calls.Call', source_field='call_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='progress', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='progress_calls', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seconds', fields.IntField()),
                ('topic_id', fields.UUIDField(null=True)),
                ('scored', fields.BooleanField(default=False)),
                ('grammar', fields.IntField(null=True)),
                ('vocabulary', fields.IntField(null=True)),
                ('fluency', fields.IntField(null=True)),
                ('pronunciation', fields.IntField(null=True)),
            ],
            options={'table': 'progress_calls', 'app': 'analysis', 'pk_attr': 'call_id', 'table_description': 'One answered call as progress counts it, written once: the guard against double counting'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProgressDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='progress_days', on_delete=OnDelete.CASCADE)),
                ('local_day', fields.IntField()),
                ('topic_key', fields.CharField(default='', max_length=36)),
                ('timezone', fields.CharField(max_length=64)),
                ('calls', fields.IntField(default=0)),
                ('seconds', fields.IntField(default=0)),
                ('scored', fields.IntField(default=0)),
                ('grammar_sum', fields.IntField(default=0)),
                ('vocabulary_sum', fields.IntField(default=0)),
                ('fluency_sum', fields.IntField(default=0)),
                ('pronunciation_sum', fields.IntField(default=0)),
            ],
            options={'table': 'progress_days', 'app': 'analysis', 'unique_together': (('user', 'local_day', 'topic_key'),), 'pk_attr': 'id', 'table_description': 'Per learner, local day and topic: calls, seconds and score sums (averages = sum / scored).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProgressState',
            fields=[
                ('user', fields.OneToOneField('accounts.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='progress_state', on_delete=OnDelete.CASCADE)),
                ('timezone', fields.CharField(max_length=64)),
                ('streak_start', fields.IntField(null=True)),
                ('streak_last', fields.IntField(null=True)),
            ],
            options={'table': 'progress_state', 'app': 'analysis', 'pk_attr': 'user_id', 'table_description': 'Per learner: the timezone the day rows are in, and the current run of call days.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Analysis',
            name='call_at',
            field=fields.DatetimeField(null=True, description='When the call took place: the recent analyses behind the level are ordered by it.', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Analysis',
            name='pronunciation_evidence',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddIndex(
            model_name='Analysis',
            index=Index(fields=['user_id', 'status', 'call_at']),
        ),
    ]
