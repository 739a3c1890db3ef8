"""Trigram indexes for search as you type, on PostgreSQL only.

Django compiles `icontains` to `UPPER(col) LIKE UPPER(%s)`, so the index must be on
`UPPER(col)` to be used. SQLite (the quick start) has no pg_trgm; it scans, which is fine at
its scale.
"""

from django.db import migrations

INDEXES = {
    "catalog_service_name_trgm": "UPPER(name)",
    "catalog_service_category_trgm": "UPPER(category)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON catalog_service USING gin ({expression} gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
