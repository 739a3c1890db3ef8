"""The worker and the scheduler: a stopped one is an event for the managers."""

from __future__ import annotations

from django.urls import reverse

from jappanel.events import Occurrence, announce
from jappanel.heartbeat import heartbeat_states
from notifications.models import Kind

NAMES = {"worker": "The worker", "beat": "The scheduler (beat)"}


def health_check() -> int:
    """Announce each stopped process once per stop (keyed by its last heartbeat); return how many
    are stopped. Called by the scheduler's periodic task and by the bell (which still runs when
    the worker or the scheduler does not)."""
    stopped = [
        state for state in heartbeat_states().values() if state.seen_at is not None and not state.alive
    ]
    names = {state.name: NAMES.get(state.name, state.name) for state in stopped}
    announce(
        Occurrence(
            "notify.direct",
            f"health:{state.name}:{state.seen_at.isoformat()}",
            {
                "kind": Kind.HEALTH,
                "key": f"health:{state.name}:{state.seen_at.isoformat()}",
                "title": f"{names[state.name]} stopped: {state.summary.removeprefix('error: ')}",
                "url": reverse("dashboard"),
                "data": {"process": state.name, "last_heartbeat": state.seen_at.isoformat()},
                "action": "manage_providers",
            },
        )
        for state in stopped
    )
    return len(stopped)
