"""A trigram index for searching orders by a piece of their link, on PostgreSQL only.

`link__icontains` compiles to `UPPER(link) LIKE UPPER(%s)`, so the index is on `UPPER(link)`.
SQLite (the quick start) scans, which is fine at its scale.
"""

from django.db import migrations

INDEX = "orders_order_link_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON orders_order USING gin (UPPER(link) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_fewer_indexes")]

    operations = [migrations.RunPython(create, drop)]
