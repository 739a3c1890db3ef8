from django.db import migrations, models

import notifications.models
from providers import crypto


def encrypt_stored(apps, schema_editor):
    """Each endpoint's URL and secret, moved into Fernet tokens of `providers.crypto`."""
    Endpoint = apps.get_model("notifications", "Endpoint")
    for endpoint in Endpoint.objects.using(schema_editor.connection.alias):
        endpoint.url_encrypted = crypto.encrypt(endpoint.url)
        endpoint.secret_encrypted = crypto.encrypt(endpoint.secret)
        endpoint.save(update_fields=["url_encrypted", "secret_encrypted"])


def decrypt_stored(apps, schema_editor):
    Endpoint = apps.get_model("notifications", "Endpoint")
    for endpoint in Endpoint.objects.using(schema_editor.connection.alias):
        endpoint.url = crypto.decrypt(endpoint.url_encrypted)
        endpoint.secret = crypto.decrypt(endpoint.secret_encrypted)
        endpoint.save(update_fields=["url", "secret"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="secret_encrypted",
            field=models.TextField(default=notifications.models.new_secret_encrypted, editable=False),
        ),
        migrations.AddField(
            model_name="endpoint",
            name="url_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        # A default for the way back, which adds the plain column again before refilling it.
        migrations.AlterField(model_name="endpoint", name="url", field=models.URLField(default="", max_length=500)),
        migrations.RunPython(encrypt_stored, decrypt_stored),
        migrations.RemoveField(model_name="endpoint", name="secret"),
        migrations.RemoveField(model_name="endpoint", name="url"),
    ]
