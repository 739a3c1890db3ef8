"""The team policy moves to the catalog, whose shortlist it governs: the model only, the table
(team_teampolicy) and its row stay as they are (team 0007 forgets it in the team app)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_service_refill_period"),
        ("team", "0006_campaign_auto_refill"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TeamPolicy",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "shortlist_rule",
                            models.CharField(
                                choices=[
                                    ("open", "Open"),
                                    ("approval", "Approval outside the shortlist"),
                                    ("only", "Shortlist only"),
                                ],
                                default="open",
                                max_length=10,
                                verbose_name="who may order off the shortlist",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "team policy",
                        "verbose_name_plural": "team policy",
                        "db_table": "team_teampolicy",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
