from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built CONCURRENTLY: callbacks keep writing run nodes while it is built.
    atomic = False

    dependencies = [
        ("flows", "0006_inbox_index_on_waiting_runs"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="runnode",
            index=models.Index(
                condition=models.Q(("late_callbacks", []), _negated=True),
                fields=["run"],
                name="idx_run_nodes_late",
            ),
        ),
    ]
