from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('analysis', '0002_progress_tables')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='ProgressCall',
            options={'table': 'progress_calls', 'app': 'analysis', 'pk_attr': 'call_id', 'table_description': 'One answered call as progress counts it, written once: the guard against double counting'},
        ),
        ops.AlterModelOptions(
            name='ProgressState',
            options={'table': 'progress_state', 'app': 'analysis', 'pk_attr': 'user_id', 'table_description': 'Per learner: the timezone the day rows are in, and the current run of call days.'},
        ),
    ]
