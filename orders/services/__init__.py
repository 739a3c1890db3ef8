"""Order rules: placing an order exactly once, following it, refills, cancels and resolutions.

Nothing here calls a panel inside a database transaction, and nothing re-sends an `add` that may
have reached the panel: `ProviderOutcomeUnknown` always ends in `unconfirmed`, for a person.

The package is split by stage of an order's life; import from `orders.services` itself.
"""

from __future__ import annotations

from orders.services.actions import (
    order_cancel,
    orders_cancel,
    refill_request,
    refills_poll_round,
    refills_request,
)
from orders.services.approvals import order_approve, order_decline, orders_decide
from orders.services.common import (
    ACCURACY,
    BATCH,
    CENT,
    LINE_COUNTED,
    PACKAGE_TYPES,
    POLL_STEPS,
    REFILL_CHECK_EVERY,
    STUCK_MESSAGE,
    ZERO,
    OrderActionError,
    OrderInvalid,
    money,
)
from orders.services.links import (
    lines_waiting,
    open_order_on_link,
    order_stop_waiting,
    order_waits_behind,
    orders_release_behind,
    orders_stop_waiting,
)
from orders.services.placing import (
    PLATFORM_EXAMPLES,
    OrderDraft,
    SubmissionConflict,
    Submitted,
    link_error,
    order_estimate,
    order_place,
    order_validate,
    orders_create,
    submission_orders,
    uncharged_total,
)
from orders.services.spend import budget_spent, budgets_check
from orders.services.submitting import (
    max_countdown,
    order_resolve,
    order_submit,
    order_submit_now,
    orders_submit,
    orders_sweep,
    submit_backoff,
)
from orders.services.tracking import (
    SNAPSHOT,
    PollReport,
    StatusBatch,
    order_batch_check,
    orders_check_now,
    orders_claim_due,
    orders_poll_round,
)

__all__ = [
    "ACCURACY",
    "BATCH",
    "CENT",
    "LINE_COUNTED",
    "OrderActionError",
    "OrderDraft",
    "OrderInvalid",
    "PACKAGE_TYPES",
    "PLATFORM_EXAMPLES",
    "POLL_STEPS",
    "PollReport",
    "REFILL_CHECK_EVERY",
    "SNAPSHOT",
    "STUCK_MESSAGE",
    "StatusBatch",
    "SubmissionConflict",
    "Submitted",
    "ZERO",
    "budget_spent",
    "budgets_check",
    "lines_waiting",
    "link_error",
    "max_countdown",
    "money",
    "open_order_on_link",
    "order_approve",
    "order_batch_check",
    "order_cancel",
    "order_decline",
    "orders_decide",
    "order_estimate",
    "order_place",
    "order_resolve",
    "order_submit",
    "order_stop_waiting",
    "order_submit_now",
    "order_validate",
    "order_waits_behind",
    "orders_cancel",
    "orders_stop_waiting",
    "orders_check_now",
    "orders_claim_due",
    "orders_create",
    "orders_poll_round",
    "orders_release_behind",
    "orders_submit",
    "orders_sweep",
    "refill_request",
    "refills_poll_round",
    "refills_request",
    "submission_orders",
    "submit_backoff",
    "uncharged_total",
]
