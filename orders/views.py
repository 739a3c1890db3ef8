from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import client_ip
from catalog.models import Scorecard, Service
from catalog.platforms import Platform
from jappanel.templatetags.web import line_count
from jappanel.web.access import allowed, may
from jappanel.web.htmx import location_or_redirect, next_url, render_page, wants_partial
from orders.export import orders_csv, refills_due_csv
from orders.filters import (
    OrderFilter,
    RefillDueFilter,
    RefillFilter,
    keyset_page,
    order_page,
    refills_due_page,
)
from orders.forms import LINES_FIELDS, MASS_FORMAT, ORDER_FIELD_NAMES, MassOrderForm, OrderForm
from orders.models import MOVING_STATUSES, Order, OrderStatus, Refill
from orders.permissions import may_act_on, order_for, orders_for
from orders.services.actions import order_cancel, orders_cancel, refill_request, refills_request
from orders.services.approvals import order_approve, order_decline, orders_decide
from orders.services.common import PROVIDER_ID, OrderActionError
from orders.services.guarantees import refill_askable, refill_outcomes_summary
from orders.services.links import (
    open_order_on_link,
    order_stop_waiting,
    order_waits_behind,
    orders_stop_waiting,
)
from orders.services.mass import mass_order_waiting
from orders.services.placing import order_estimate
from orders.services.policy import decision_refusal, order_waits_because
from orders.services.submitting import order_resolve
from orders.services.tracking import orders_check_now
from providers.client import SERVICE_TYPES
from providers.models import Provider
from team.models import Campaign

# Seconds between two refreshes of the statuses on screen while some are still moving.
LIVE_REFRESH_SECONDS = 5
# Most codes one bulk action or one status refresh takes: a page of the list.
MAX_CODES = 100


def _codes(raw: str) -> list[str]:
    return raw.replace(",", " ").upper().split()[:MAX_CODES]


def _selected(request: HttpRequest) -> QuerySet[Order]:
    """The orders ticked on a list page (its `order` checkboxes)."""
    return Order.objects.filter(code__in=_codes(" ".join(request.POST.getlist("order"))))


# The orders list -----------------------------------------------------------------------------------


@require_GET
@allowed("view_orders")
def order_list(request: HttpRequest) -> HttpResponse:
    filterset, page = order_page(request.GET)
    context: dict[str, Any] = {
        "filterset": filterset,
        "page": page,
        "moving": [order.code for order in page.rows if order.status in MOVING_STATUSES],
        "list_url": request.get_full_path(),
        "refresh": LIVE_REFRESH_SECONDS,
        # Approve or decline the selection: offered where the list shows what waits for a decision.
        "decide_in_bulk": may(request.user, "approve_order")
        and any(order.status == OrderStatus.AWAITING_APPROVAL for order in page.rows),
    }
    if not wants_partial(request, "order-table"):
        context["providers"] = Provider.objects.order_by("name")
        context["people"] = get_user_model().objects.filter(is_active=True).order_by("username")
        context["platforms"] = Platform.choices
        context["campaigns"] = Campaign.objects.order_by("-active", "name")
    return render_page(request, "orders/order_list.html", "table", context, target="order-table")


@require_GET
@allowed("view_orders")
def order_statuses(request: HttpRequest) -> HttpResponse:
    """The badges of `?codes=…`, swapped in place, and the poller again while some still move."""
    orders = list(Order.objects.filter(code__in=_codes(request.GET.get("codes", ""))).order_by())
    context = {
        "orders": orders,
        "moving": [order.code for order in orders if order.status in MOVING_STATUSES],
        "refresh": LIVE_REFRESH_SECONDS,
    }
    return render(request, "orders/order_list.html#statuses", context)


@require_GET
@allowed("view_orders")
def order_export(request: HttpRequest) -> HttpResponseBase:
    return orders_csv(OrderFilter(request.GET).qs)


@require_POST
@allowed("view_orders")
def order_bulk(request: HttpRequest) -> HttpResponse:
    selected = _selected(request)
    action = request.POST.get("action")
    ip = client_ip(request)
    if action in ("approve", "decline"):
        # Deciding is not acting on an order as its owner: the approval rules choose what is decided.
        _decide(request, list(selected.select_related("service", "provider", "user")), action, ip)
        return location_or_redirect(request, next_url(request, reverse("orders:order_list")))
    orders = orders_for(request, selected.select_related("service", "provider"), "act")
    if not orders:
        messages.error(request, "Select at least one order.")
    elif action == "refill":
        refills = refills_request(orders=orders, user=request.user, ip=ip)
        asked = sum(1 for refill in refills if refill.provider_refill_id is not None)
        messages.info(request, _summary(len(orders), asked, "refill requested", "refills requested"))
    elif action == "cancel":
        # Waiting orders never reached the provider: canceled here, as from their own page.
        stopped = orders_stop_waiting(orders=orders, user=request.user, ip=ip)
        sent = [order for order in orders if order not in stopped]
        answers = orders_cancel(orders=sent, user=request.user, ip=ip)
        accepted = len(stopped) + sum(1 for answer in answers if answer.accepted)
        messages.info(request, _summary(len(orders), accepted, "cancel accepted", "cancels accepted"))
    elif action == "check":
        checked = orders_check_now(orders=orders, user=request.user, ip=ip)
        messages.info(request, _summary(len(orders), checked, "order checked now", "orders checked now"))
    else:
        messages.error(request, "Choose refill, cancel or check now.")
    return location_or_redirect(request, next_url(request, reverse("orders:order_list")))


def _decide(request: HttpRequest, orders: list[Order], action: str, ip: str | None) -> None:
    if not orders:
        messages.error(request, "Select at least one order.")
        return
    try:
        decided = orders_decide(
            orders=orders,
            user=request.user,
            approve=action == "approve",
            reason=request.POST.get("reason", ""),
            ip=ip,
        )
    except OrderActionError as error:
        messages.error(request, str(error))
        return
    done = "approved" if action == "approve" else "declined"
    messages.info(request, _summary(len(orders), len(decided), f"order {done}", f"orders {done}"))


def _summary(selected: int, done: int, one: str, many: str) -> str:
    text = f"{done} {one if done == 1 else many}"
    skipped = selected - done
    return f"{text}; {skipped} of the {selected} selected could not be." if skipped else f"{text}."


# Placing orders -----------------------------------------------------------------------------------


def _picker(data: dict[str, Any], service: Service | None) -> dict[str, Any]:
    """Platform → category → service choices, following what is picked (or the service's own)."""
    active = Service.objects.filter(active=True, provider__active=True)
    platform = service.platform if service else data.get("platform", "")
    category = service.category if service else data.get("category", "")
    platforms = dict(Platform.choices)
    context: dict[str, Any] = {
        "platforms": [
            (value, platforms.get(value, value))
            for value in active.order_by("platform").values_list("platform", flat=True).distinct()
        ],
        "platform": platform,
        "category": category,
        "categories": [],
        "services": [],
    }
    if platform:
        context["categories"] = list(
            active.filter(platform=platform)
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
    if platform and category in context["categories"]:
        context["services"] = active.filter(platform=platform, category=category).order_by("rate", "pk")
    query = data.get("q", "").strip()
    if query:
        found = active.filter(name__icontains=query)
        number = query.removeprefix("#")
        if PROVIDER_ID.fullmatch(number):
            found = active.filter(service_id=int(number)) | found
        context["q"], context["found"] = query, found.select_related("provider").order_by("rate", "pk")[:20]
    return context


def _service_from(data: Any) -> Service | None:
    raw = str(data.get("service", ""))
    if not PROVIDER_ID.fullmatch(raw):
        return None
    return Service.objects.filter(pk=int(raw), active=True).select_related("provider").first()


def _order_context(form: OrderForm, service: Service | None) -> dict[str, Any]:
    required, optional = SERVICE_TYPES.get(service.type, ((), ())) if service else ((), ())
    if service and not service.dripfeed:
        optional = tuple(name for name in optional if name not in ("runs", "interval"))
    return {
        "form": form,
        "service": service,
        "scorecards": Scorecard.windows_of(service=service) if service else None,
        "required": [form[name] for name in required if name in form.fields],
        "required_names": required,
        "optional": [form[name] for name in optional if name in form.fields],
        "line_fields": LINES_FIELDS,
    }


@require_http_methods(["GET", "POST"])
@allowed("place_order")
def order_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = OrderForm(request.POST, user=request.user)
        order = form.place(user=request.user, ip=client_ip(request)) if form.is_valid() else None
        if order is not None:
            return location_or_redirect(request, reverse("orders:order_detail", args=[order.code]))
        service = _service_from(request.POST)
    else:
        service = _service_from(request.GET)
        # The quantity typed in the catalog comes along; the form checks it like any other.
        quantity = request.GET.get("quantity", "")
        form = OrderForm(
            initial={"service": service, "quantity": quantity[:12] if quantity.isdigit() else None},
            user=request.user,
        )
    context = {**_order_context(form, service), **_picker(request.GET, service)}
    context["estimate"] = _estimate(form, service) if request.method == "POST" else None
    return render_page(request, "orders/order_create.html", "builder", context, target="order-builder")


def _estimate(form: OrderForm, service: Service | None) -> dict[str, Any] | None:
    if service is None:
        return None
    cost = form.draft.estimate if form.draft else order_estimate(service=service, fields=_typed_fields(form))
    balance = service.provider.balance
    required, optional = SERVICE_TYPES.get(service.type, ((), ()))
    lines = {name: line_count(form.data, name) for name in LINES_FIELDS if name in (*required, *optional)}
    return {
        "cost": cost,
        "currency": service.provider.currency,
        "balance": balance,
        "after": None if balance is None else balance - cost,
        "problems": form.non_field_errors(),
        "lines": lines,
        "ahead": open_order_on_link(service_id=service.pk, link=str(form.data.get("link", ""))),
    }


def _typed_fields(form: OrderForm) -> dict[str, Any]:
    """The fields that parse on their own, for an estimate while the order as a whole is invalid."""
    known = {}
    for name in ORDER_FIELD_NAMES:
        try:
            value = form.fields[name].clean(form.data.get(name, ""))
        except ValidationError:
            continue
        if name in LINES_FIELDS:
            value = "\n".join(line for line in value.splitlines() if line.strip())
        if value not in (None, ""):
            known[name] = value
    return known


@require_POST
@allowed("place_order")
def order_estimate_view(request: HttpRequest) -> HttpResponse:
    """The live cost, balance and line counts of the order form as it is being filled."""
    service = _service_from(request.POST)
    form = OrderForm(request.POST, user=request.user)
    if form.is_valid():
        form.check()
    context = {"estimate": _estimate(form, service), "service": service}
    return render(request, "orders/order_create.html#estimate-response", context)


@require_http_methods(["GET", "POST"])
@allowed("place_order")
def mass_order(request: HttpRequest) -> HttpResponse:
    providers = Provider.objects.filter(active=True)
    form = MassOrderForm(
        initial={"provider": providers.first() if len(providers) == 1 else None}, user=request.user
    )
    if request.method == "POST":
        form = MassOrderForm(request.POST, request.FILES, user=request.user)
        action = request.POST.get("action", "preview")
        # Placed whatever the preview would say now: posted again, the same form finds its
        # orders, which would make its own lines look unaffordable.
        if form.is_valid() and action == "confirm":
            orders = form.place(user=request.user, ip=client_ip(request))
            if orders:
                messages.success(request, f"{len(orders)} order{pluralize(len(orders))} queued.")
                codes = ",".join(order.code for order in orders)
                return location_or_redirect(request, f"{reverse('orders:order_list')}?codes={codes}")
        if form.lines and (action == "drop" or request.FILES):
            form = _mass_form_of_lines(request, form, drop_bad=action == "drop")
    good = sum(1 for line in form.lines if line.ok)
    context = {
        "waiting": mass_order_waiting(form.lines),
        "form": form,
        "providers": providers,
        "format": MASS_FORMAT,
        "good": good,
        "bad": len(form.lines) - good,
        "currency": form.cleaned_data["provider"].currency if form.lines else "",
    }
    return render_page(request, "orders/mass_order.html", "mass", context, target="mass-form")


def _mass_form_of_lines(request: HttpRequest, form: MassOrderForm, *, drop_bad: bool) -> MassOrderForm:
    """The same mass order as text in the box: an uploaded file becomes editable, bad lines go."""
    text = "\n".join(line.text for line in form.lines if line.ok or not drop_bad)
    rebuilt = MassOrderForm({**request.POST.dict(), "text": text}, user=request.user)
    rebuilt.is_valid()
    return rebuilt


# One order -----------------------------------------------------------------------------------------


def _order_page_context(request: HttpRequest, order: Order) -> dict[str, Any]:
    refills = list(order.refills.select_related("user"))
    refusal = decision_refusal(request.user, order) if order.status == OrderStatus.AWAITING_APPROVAL else None
    may_approve = order.status == OrderStatus.AWAITING_APPROVAL and refusal is None
    # The requester's page follows a waiting order to the decision; an approver's does not
    # refresh, or it would wipe the reason being typed into the decline box.
    waiting = order.status == OrderStatus.AWAITING_APPROVAL and not may_approve
    return {
        "order": order,
        "may_act": may_act_on(request.user, order, "act"),
        "may_resolve": may_act_on(request.user, order, "resolve"),
        "may_approve": may_approve,
        # An approver kept from deciding is told why (the requester knows it is their own).
        "decide_refusal": refusal
        if may(request.user, "approve_order") and order.user_id != request.user.pk
        else "",
        "events": order.events.select_related("user"),
        # An approver sees the service's record before deciding.
        "scorecards": Scorecard.windows_of(service=order.service)
        if order.status == OrderStatus.AWAITING_APPROVAL
        else None,
        "refills": refills,
        "waits_behind": order_waits_behind(order),
        "waits_because": " and ".join(order_waits_because(order))
        if order.status == OrderStatus.AWAITING_APPROVAL
        else "",
        "moving": waiting
        or order.status in MOVING_STATUSES
        or any(not refill.is_final for refill in refills),
        "refresh": LIVE_REFRESH_SECONDS,
    }


@require_GET
def order_detail(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "view")
    return render(request, "orders/order_detail.html", _order_page_context(request, order))


@require_GET
def order_live(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "view")
    return render(request, "orders/order_detail.html#live", _order_page_context(request, order))


def _order_action(
    request: HttpRequest, order: Order, action: Callable[[], str | None], done: str
) -> HttpResponse:
    """Run `action` (it returns the provider's refusal, if any) and go back to the order's page."""
    try:
        refusal = action()
    except OrderActionError as exc:
        refusal = str(exc)
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, done)
    return location_or_redirect(request, reverse("orders:order_detail", args=[order.code]))


@require_POST
def order_refill(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "act")

    def refill() -> str | None:
        refill = refill_request(order=order, user=request.user, ip=client_ip(request))
        return None if refill.provider_refill_id is not None else f"Refill not accepted: {refill.error}"

    return _order_action(request, order, refill, "Refill requested.")


@require_POST
def order_cancel_view(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "act")

    def cancel() -> str | None:
        answer = order_cancel(order=order, user=request.user, ip=client_ip(request))
        return None if answer.accepted else f"Cancel not accepted: {answer.answer or 'no answer'}"

    return _order_action(request, order, cancel, "Cancel accepted: the status follows.")


@require_POST
def order_stop_waiting_view(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "act")

    def stop() -> None:
        order_stop_waiting(order=order, user=request.user, ip=client_ip(request))

    return _order_action(request, order, stop, "Canceled: it was never sent, nothing is charged.")


@require_POST
def order_check(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "act")
    if orders_check_now(orders=[order], user=request.user, ip=client_ip(request)):
        messages.success(request, "Status check started.")
    else:
        messages.error(request, "Only an order in progress at the provider can be checked.")
    return location_or_redirect(request, reverse("orders:order_detail", args=[order.code]))


@require_POST
def order_resolve_view(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "resolve")
    placed = request.POST.get("placed") == "yes"
    raw_id = request.POST.get("provider_order_id", "").strip().removeprefix("#")
    provider_order_id = int(raw_id) if PROVIDER_ID.fullmatch(raw_id) else None
    note = request.POST.get("note", "")[:500]
    return _order_action(
        request,
        order,
        lambda: (
            order_resolve(
                order=order,
                placed=placed,
                provider_order_id=provider_order_id,
                user=request.user,
                ip=client_ip(request),
                note=note,
            )
            and None
        ),
        "Marked as placed: tracking starts." if placed else "Marked as not placed.",
    )


@require_POST
def order_approve_view(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "approve")
    return _order_decision(
        request,
        order,
        lambda: order_approve(order=order, user=request.user, ip=client_ip(request)),
        "Approved: sending.",
    )


@require_POST
def order_decline_view(request: HttpRequest, code: str) -> HttpResponse:
    order = order_for(request, code, "approve")
    reason = request.POST.get("reason", "")
    return _order_decision(
        request,
        order,
        lambda: order_decline(order=order, user=request.user, reason=reason, ip=client_ip(request)),
        "Declined.",
    )


def _order_decision(
    request: HttpRequest, order: Order, decide: Callable[[], Order], done: str
) -> HttpResponse:
    """Approve or decline, then back to where the approver was (the dashboard or the order)."""
    try:
        decide()
        messages.success(request, f"{order.code}: {done}")
    except OrderActionError as exc:
        messages.error(request, f"{order.code}: {exc}")
    return location_or_redirect(request, next_url(request, reverse("orders:order_detail", args=[order.code])))


# Refills -------------------------------------------------------------------------------------------


@require_GET
@allowed("view_refills")
def refill_list(request: HttpRequest) -> HttpResponse:
    filterset = RefillFilter(request.GET)
    page = keyset_page(
        filterset.qs, field="requested_at", older=request.GET.get("older"), newer=request.GET.get("newer")
    )
    context: dict[str, Any] = {
        "filterset": filterset,
        "page": page,
        # An unconfirmed refill waits for a person, not for the panel: nothing to refresh.
        "moving": any(
            not refill.is_final and refill.status != Refill.Status.UNCONFIRMED for refill in page.rows
        ),
        "list_url": request.get_full_path(),
        "refresh": LIVE_REFRESH_SECONDS,
    }
    if not wants_partial(request, "refill-table"):
        context["providers"] = Provider.objects.order_by("name")
        context["open_count"] = Refill.objects.filter(finished_at__isnull=True).aggregate(n=Count("pk"))["n"]
    return render_page(request, "orders/refill_list.html", "table", context, target="refill-table")


@require_GET
@allowed("view_refills")
def refill_due_list(request: HttpRequest) -> HttpResponse:
    """Orders inside their refill guarantee that were not refilled lately, expiring soonest first."""
    now = timezone.now()
    filterset, page = refills_due_page(request.GET, now=now)
    for order in page.rows:
        order.askable = refill_askable(order, now)
    context: dict[str, Any] = {
        "filterset": filterset,
        "page": page,
        "list_url": request.get_full_path(),
        # One reverse for the page, not one per row.
        "orders_url": reverse("orders:order_list"),
    }
    if not wants_partial(request, "due-table"):
        context["providers"] = Provider.objects.order_by("name")
        context["platforms"] = Platform.choices
        context["campaigns"] = Campaign.objects.order_by("-active", "name")
    return render_page(request, "orders/refill_due_list.html", "table", context, target="due-table")


@require_GET
@allowed("view_refills")
def refill_due_export(request: HttpRequest) -> HttpResponseBase:
    return refills_due_csv(RefillDueFilter(request.GET).qs)


@require_POST
@allowed("view_refills")
def refill_due_request(request: HttpRequest) -> HttpResponse:
    """Ask a refill of the selected orders the panel would take now; report each outcome."""
    orders = orders_for(request, _selected(request).select_related("service", "provider"), "act")
    now = timezone.now()
    askable = [order for order in orders if refill_askable(order, now)]
    if not orders:
        messages.error(request, "Select at least one order.")
    else:
        refills = refills_request(orders=askable, user=request.user, ip=client_ip(request))
        messages.info(request, refill_outcomes_summary(len(orders), refills))
    return location_or_redirect(request, next_url(request, reverse("orders:refill_due_list")))
