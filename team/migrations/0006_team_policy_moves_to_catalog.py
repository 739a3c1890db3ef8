"""The team policy now lives in the catalog app (catalog 0008): forget the model here, keep the table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("team", "0005_campaign_members"),
        ("catalog", "0008_team_policy_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TeamPolicy")],
            database_operations=[],
        ),
    ]
