from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True
    dependencies = [("accounts", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='Topic',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('title', fields.CharField(max_length=120)),
                ('description', fields.TextField(unique=False)),
                ('level_min', fields.CharField(max_length=2)),
                ('level_max', fields.CharField(max_length=2)),
                ('instructions', fields.TextField(unique=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'topics', 'app': 'topics', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserTopic',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('accounts.User', source_field='user_id', db_constraint=True, to_field='id', related_name='user_topics', on_delete=OnDelete.CASCADE)),
                ('topic', fields.ForeignKeyField('topics.Topic', source_field='topic_id', db_constraint=True, to_field='id', related_name='user_topics', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user_topics', 'app': 'topics', 'unique_together': (('user', 'topic'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
