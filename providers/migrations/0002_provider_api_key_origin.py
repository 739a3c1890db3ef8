from django.db import migrations, models

from providers.client.urls import origin_of


def bind_stored_keys(apps, schema_editor):
    """A key stored before keys were bound to an origin belongs to the URL it is used with now."""
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.using(schema_editor.connection.alias).exclude(api_key_encrypted=""):
        provider.api_key_origin = origin_of(provider.api_url)
        provider.save(update_fields=["api_key_origin"])


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="api_key_origin",
            field=models.CharField(blank=True, editable=False, max_length=520),
        ),
        migrations.RunPython(bind_stored_keys, migrations.RunPython.noop),
    ]
