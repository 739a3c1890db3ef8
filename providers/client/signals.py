"""The client's one hook for observers (metrics): a signal sent after every call to a panel."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per HTTP call, success or failure, with `action` (the API action), `outcome`
# ("ok", "rejected", "rate_limited", "unreachable" or "outcome_unknown") and `seconds` (wall
# time). Nothing else: no key, no parameters, no answer.
call_finished = Signal()
