"""Recording writes less with each event of a polling round.

- A delivery carries up to 100 events (`event_ids`) to its endpoint: one request, or one chat
  message, instead of one per event. Each existing delivery keeps its one event.
- A person's copy is unique by (user, event), which also orders the inbox, instead of
  (event, user) plus an inbox index; the copies still to mail have small indexes of their own.
- Copies point at their event and person without a database check (the ORM cascades), which
  locked the event row again for every copy at commit.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def one_event_each(apps, schema_editor):
    Delivery = apps.get_model("notifications", "Delivery")
    deliveries = []
    for delivery in Delivery.objects.only("pk", "event_id").iterator(chunk_size=1000):
        delivery.event_ids = [delivery.event_id]
        deliveries.append(delivery)
    Delivery.objects.bulk_update(deliveries, ["event_ids"], batch_size=1000)


def first_event_back(apps, schema_editor):
    Delivery = apps.get_model("notifications", "Delivery")
    deliveries = []
    for delivery in Delivery.objects.only("pk", "event_ids").iterator(chunk_size=1000):
        # A delivery of several events goes back as a delivery of its first.
        delivery.event_id = delivery.event_ids[0]
        deliveries.append(delivery)
    Delivery.objects.bulk_update(deliveries, ["event"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_events_told_when_recorded"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="event_ids",
            field=models.JSONField(default=list),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="notifications.event",
            ),
        ),
        migrations.RunPython(one_event_each, first_event_back),
        migrations.RemoveField(model_name="delivery", name="event"),
        migrations.AlterField(
            model_name="delivery",
            name="endpoint",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="notifications.endpoint",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["endpoint", "-id"], name="delivery_log"),
        ),
        migrations.AlterModelOptions(name="notification", options={"ordering": ["-event_id"]}),
        migrations.RemoveConstraint(model_name="notification", name="notification_once_per_person"),
        migrations.RemoveIndex(model_name="notification", name="notification_inbox"),
        migrations.AlterField(
            model_name="notification",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="notifications.event",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="user",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(fields=("user", "event"), name="notification_once_per_person"),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("mail", "now"), ("mailed_at__isnull", True)),
                fields=["event"],
                name="notification_to_mail",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("mail", "digest"), ("mailed_at__isnull", True)),
                fields=["user"],
                name="notification_to_digest",
            ),
        ),
    ]
