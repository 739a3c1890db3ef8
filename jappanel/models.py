from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a background process: the Celery worker or Celery beat.

    One row per process kind, overwritten in place; /readyz and the dashboard compare
    `seen_at` with HEARTBEAT_MAX_AGE.
    """

    WORKER = "worker"
    BEAT = "beat"

    name = models.CharField(max_length=20, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"
