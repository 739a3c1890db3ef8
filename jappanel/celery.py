"""The Celery application: configured from Django settings (the CELERY_ namespace)."""

from __future__ import annotations

import os

from celery import Celery

from jappanel.heartbeat import connect_heartbeats
from jappanel.logging import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jappanel.settings")

app = Celery("jappanel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_celery_signals()
connect_heartbeats(app)
