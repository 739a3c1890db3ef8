from __future__ import annotations

from django.db import migrations

from jappanel.web.access import roles_sync


def create_roles(apps, schema_editor) -> None:
    roles_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("jappanel", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0004_sync_permission"),
        ("orders", "0004_order_permissions"),
        ("providers", "0001_initial"),
        ("audit", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
