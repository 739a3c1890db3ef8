from __future__ import annotations

from django.db import migrations

from jappanel.web.access import roles_sync


def update_roles(apps, schema_editor) -> None:
    roles_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("jappanel", "0002_roles"),
        ("orders", "0005_campaign_approvals"),
        ("team", "0001_campaigns_budgets"),
    ]

    operations = [migrations.RunPython(update_roles, migrations.RunPython.noop)]
