"""The worker and beat report that they run; the dashboard says so when they don't."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import signals
from django.core.management import CommandError, call_command
from django.utils import timezone

from jappanel import heartbeat
from jappanel.models import Heartbeat
from jappanel.tasks import heartbeat as heartbeat_task


def seen(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


@pytest.mark.worker
def test_a_running_worker_records_its_heartbeat_on_start_without_any_task(celery_worker):
    assert seen("worker") is not None
    assert timezone.now() - seen("worker").seen_at < timedelta(seconds=30)


def test_running_the_heartbeat_task_records_the_worker(db):
    heartbeat_task.apply()
    assert seen("worker") is not None
    assert seen("beat") is None


@pytest.fixture
def in_beat(monkeypatch):
    monkeypatch.setattr(heartbeat, "_in_beat", False)
    signals.beat_init.send(sender=None)


def test_beat_records_its_heartbeat_when_it_starts_and_each_time_it_sends_a_task(db, in_beat, celery_worker):
    first = seen("beat").seen_at
    heartbeat_task.apply_async()
    assert seen("beat").seen_at > first


def test_sending_a_task_outside_beat_is_no_beat_heartbeat(db, monkeypatch):
    monkeypatch.setattr(heartbeat, "_in_beat", False)
    signals.before_task_publish.send(sender="jappanel.tasks.heartbeat", body=(), headers={})
    assert seen("beat") is None


def test_beat_sends_the_heartbeat_task_more_often_than_the_age_that_counts_as_stopped(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == "jappanel.tasks.heartbeat"
    assert entry["schedule"] * 2 < settings.HEARTBEAT_MAX_AGE
    assert entry["options"]["expires"] < entry["schedule"]


def test_the_dashboard_warns_when_the_worker_or_the_scheduler_is_not_running(admin_client, settings):
    html = admin_client.get("/").content.decode()
    assert "The background worker is not running" in html
    assert "The scheduler (Celery beat) is not running" in html
    assert "never reported" in html

    heartbeat.heartbeat_record("worker")
    heartbeat.heartbeat_record("beat")
    html = admin_client.get("/").content.decode()
    assert "not running" not in html

    Heartbeat.objects.filter(name="beat").update(seen_at=timezone.now() - timedelta(minutes=10))
    html = admin_client.get("/").content.decode()
    assert "The scheduler (Celery beat) is not running" in html
    assert "The background worker is not running" not in html
    assert "Last seen 10\xa0minutes ago" in html


def test_check_heartbeat_is_the_container_healthcheck_of_worker_and_beat(db, capsys):
    with pytest.raises(CommandError, match="worker: error: no heartbeat recorded yet"):
        call_command("check_heartbeat", "worker")
    heartbeat.heartbeat_record("worker")
    call_command("check_heartbeat", "worker")
    assert capsys.readouterr().out == "worker: ok\n"


def test_a_heartbeat_that_cannot_be_written_is_logged_and_never_raised(db, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(Heartbeat.objects, "update_or_create", broken)
    heartbeat.heartbeat_record("worker")
    assert "worker heartbeat not recorded" in caplog.text
