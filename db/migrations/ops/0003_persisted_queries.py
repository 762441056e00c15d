from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('ops', '0002_job_probe_runs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedQuery',
            fields=[
                ('sha256', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('document', fields.TextField(unique=False)),
                ('name', fields.CharField(null=True, max_length=200)),
                ('registered_by', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'persisted_queries', 'app': 'ops', 'pk_attr': 'sha256', 'table_description': 'A GraphQL document registered by an admin, keyed by the SHA-256 of its text. Production'},
            bases=['Model'],
        ),
    ]
