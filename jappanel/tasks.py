from __future__ import annotations

from celery import shared_task

from jappanel.heartbeat import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Sent by beat every HEARTBEAT_INTERVAL: sending it is beat's heartbeat, running it the worker's."""
    heartbeat_record("worker")
