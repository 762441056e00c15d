from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('ops', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobProbeRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job_id', fields.BigIntField(db_index=True)),
                ('attempt', fields.IntField()),
                ('worker_id', fields.CharField(max_length=64)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job_probe_runs', 'app': 'ops', 'pk_attr': 'id', 'table_description': 'One execution of the diagnostic ``probe`` job kind.'},
            bases=['Model'],
        ),
    ]
