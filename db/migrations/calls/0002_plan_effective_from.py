from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('accounts', '0001_initial'), ('calls', '0001_initial'), ('topics', '0001_initial')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='CallPlan',
            options={'table': 'call_plans', 'app': 'calls', 'pk_attr': 'user_id'},
        ),
        ops.AddField(
            model_name='CallPlan',
            name='effective_from',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterModelOptions(
            name='Preferences',
            options={'table': 'preferences', 'app': 'calls', 'pk_attr': 'user_id'},
        ),
    ]
