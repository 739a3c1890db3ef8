"""The team policy now lives in the catalog app (catalog 0009): forget the model here, keep the table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("team", "0006_campaign_auto_refill"),
        ("catalog", "0009_team_policy_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TeamPolicy")],
            database_operations=[],
        ),
    ]
