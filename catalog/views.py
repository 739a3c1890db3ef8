from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import client_ip
from catalog.changes import (
    PERIODS,
    ChangeFilter,
    catalog_changes_visit,
    impact_labels,
    last_visit,
    seen_param,
    touching,
)
from catalog.filters import ServiceFilter, ShortlistFirst, first_synced_at
from catalog.forms import CatalogDisplayForm, RefillPeriodForm, ShortlistEntryForm, TeamPolicyForm
from catalog.models import (
    CatalogChange,
    CatalogSync,
    ChangeKind,
    Scorecard,
    Service,
    ShortlistEntry,
    TeamPolicy,
)
from catalog.services import (
    catalog_sync_request,
    favourite_set,
    service_refill_correct,
    shortlist_remove,
    shortlist_save,
    team_policy_save,
)
from jappanel.web.access import allowed
from jappanel.web.csv import csv_response
from jappanel.web.htmx import location_or_redirect, next_url, render_page, wants_partial
from jappanel.web.pagination import keyset_page
from providers.client import SERVICE_TYPES
from providers.models import Provider

PRICE_HISTORY_LENGTH = 50
# Some panels describe a service in `desc`, `description` or `description_<lang>`; JAP sends none.
DESCRIPTION_PREFIX = "desc"
SYNCED_EVENT = "catalog-synced"
# Sent after a shortlist change in the service panel: the table behind it reloads its badges.
SHORTLIST_EVENT = "shortlist-changed"
# The changes touching the shortlist or presets shown above the list, newest first.
IMPACT_ROWS = 20
CHANGES_CSV_COLUMNS = (
    "when",
    "provider",
    "service id",
    "service",
    "change",
    "old value",
    "new value",
    "rate change %",
    "shortlisted as",
    "touches",
)
SHORTLIST_CSV_COLUMNS = (
    "house name",
    "service id",
    "service",
    "provider",
    "rate per 1000",
    "currency",
    "tags",
    "notes",
    "added by",
    "added at",
)


class _FullPagePaginator(Paginator):
    """Asks for a full page even when fewer rows are left.

    Django cuts the last page's LIMIT down to the rows left; for a search that found two
    services, LIMIT 2 makes PostgreSQL walk the whole rate index hoping to meet them early
    (60 ms at 50,000 services) instead of using the search indexes (1 ms).
    """

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)


def _sync_state() -> dict[str, Any]:
    """The active providers, each with its latest sync run (or None)."""
    latest = CatalogSync.objects.filter(provider=OuterRef("pk")).order_by("-started_at", "-pk")
    providers = list(
        Provider.objects.filter(active=True).annotate(latest_run_id=Subquery(latest.values("pk")[:1]))
    )
    runs = CatalogSync.objects.in_bulk(
        [provider.latest_run_id for provider in providers if provider.latest_run_id]
    )
    rows = [(provider, runs.get(provider.latest_run_id)) for provider in providers]
    return {
        "providers": providers,
        "sync_rows": rows,
        "syncing": any(run and run.status == CatalogSync.Status.RUNNING for _, run in rows),
        # A provider never synced gets its first sync from the worker by itself: watch for it.
        "awaiting_first_sync": any(run is None for _, run in rows),
        "failed_rows": [
            (provider, run) for provider, run in rows if run and run.status == CatalogSync.Status.FAILED
        ],
        "never_synced": not runs,
    }


@require_GET
@allowed("view_services")
def service_list(request: HttpRequest) -> HttpResponse:
    filterset = ServiceFilter(request.GET, user=request.user)
    display = CatalogDisplayForm(request.GET)
    rows = ShortlistFirst(filterset.qs)
    page = _FullPagePaginator(rows, display.page_size).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "filterset": filterset,
        "display": display,
        "page": page,
        "quantity": display.cost_quantity,
        "list_url": request.get_full_path(),
    }
    if not wants_partial(request) or not page.object_list:
        context.update(_sync_state())
    if not wants_partial(request):
        context["categories"] = (
            Service.objects.filter(active=True)
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
        context["types"] = sorted(SERVICE_TYPES)
    return render_page(request, "catalog/service_list.html", "table", context)


def _order_url(service: Service) -> str:
    return f"{reverse('orders:order_create')}?service={service.pk}"


def _descriptions(raw: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (key, value.strip())
        for key, value in raw.items()
        if key.lower().startswith(DESCRIPTION_PREFIX) and isinstance(value, str) and value.strip()
    ]


def _service_of(pk: int) -> Service:
    services = Service.objects.select_related("provider", "shortlist__added_by").annotate(
        first_synced_at=first_synced_at()
    )
    return get_object_or_404(services, pk=pk)


def _detail_context(
    service: Service, form: ShortlistEntryForm | None = None, refill_form: RefillPeriodForm | None = None
) -> dict[str, Any]:
    return {
        "service": service,
        "refill_form": refill_form or RefillPeriodForm(service=service),
        # The reverse one-to-one raises when there is no entry; select_related cached the answer.
        "entry": getattr(service, "shortlist", None),
        "shortlist_form": form,
        "changes": list(service.price_changes.all()[:PRICE_HISTORY_LENGTH]),
        "scorecards": Scorecard.windows_of(service=service),
        "descriptions": _descriptions(service.raw),
        "order_url": _order_url(service),
    }


@require_GET
@allowed("view_services")
def provider_record(request: HttpRequest, pk: int) -> HttpResponse:
    """A provider's record from our own orders, beside the way to its services, best first."""
    provider = get_object_or_404(Provider, pk=pk)
    context = {"provider": provider, "scorecards": Scorecard.windows_of(provider=provider)}
    return render(request, "catalog/provider_record.html", context)


@require_GET
@allowed("view_services")
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _detail_context(_service_of(pk))
    return render_page(request, "catalog/service_detail.html", "panel", context)


def _shortlist_box(request: HttpRequest, service: Service, form: ShortlistEntryForm | None) -> HttpResponse:
    """The panel's shortlist box for htmx, else the service's page (with the form open, if any)."""
    if not wants_partial(request):
        return render(request, "catalog/service_detail.html", _detail_context(service, form))
    context = {"service": service, "entry": getattr(service, "shortlist", None), "shortlist_form": form}
    return render(request, "catalog/service_detail.html#shortlist", context)


def _shortlist_changed(request: HttpRequest, service: Service) -> HttpResponse:
    if not request.htmx:
        return redirect("catalog:service_detail", pk=service.pk)
    response = _shortlist_box(request, _service_of(service.pk), None)
    response["HX-Trigger"] = SHORTLIST_EVENT
    return response


@require_http_methods(["GET", "POST"])
@allowed("manage_shortlist")
def service_shortlist(request: HttpRequest, pk: int) -> HttpResponse:
    """The service's shortlist entry: shown, edited (`?edit=1`), or saved (POST)."""
    service = _service_of(pk)
    entry = getattr(service, "shortlist", None) or ShortlistEntry(service=service)
    if request.method == "POST":
        form = ShortlistEntryForm(request.POST, instance=entry)
        if form.is_valid():
            shortlist_save(entry=form.instance, user=request.user, ip=client_ip(request))
            return _shortlist_changed(request, service)
    else:
        form = ShortlistEntryForm(instance=entry) if request.GET.get("edit") else None
    return _shortlist_box(request, service, form)


@require_POST
@allowed("manage_shortlist")
def service_refill(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager corrects the service's refill period (kept across syncs, audited)."""
    service = _service_of(pk)
    form = RefillPeriodForm(request.POST, service=service)
    if not form.is_valid():
        return render(request, "catalog/service_detail.html", _detail_context(service, refill_form=form))
    service_refill_correct(service=service, days=form.override, user=request.user, ip=client_ip(request))
    messages.success(request, f"Refill guarantee: {service.refill_period_label}.")
    return location_or_redirect(request, reverse("catalog:service_detail", args=[service.pk]))


@require_POST
@allowed("manage_shortlist")
def service_shortlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    service = _service_of(pk)
    entry = getattr(service, "shortlist", None)
    if entry is not None:
        shortlist_remove(entry=entry, user=request.user, ip=client_ip(request))
    return _shortlist_changed(request, service)


def _shortlist_page(request: HttpRequest, policy_form: TeamPolicyForm, status: int = 200) -> HttpResponse:
    entries = ShortlistEntry.objects.select_related("service__provider", "added_by")
    context = {"entries": entries, "policy_form": policy_form, "policy": policy_form.instance}
    return render(request, "catalog/shortlist_list.html", context, status=status)


@require_GET
@allowed("manage_shortlist")
def shortlist(request: HttpRequest) -> HttpResponse:
    return _shortlist_page(request, TeamPolicyForm(instance=TeamPolicy.current()))


@require_POST
@allowed("manage_shortlist")
def team_policy_edit(request: HttpRequest) -> HttpResponse:
    form = TeamPolicyForm(request.POST, instance=TeamPolicy.current())
    if not form.is_valid():
        return _shortlist_page(request, form, status=400)
    policy = team_policy_save(policy=form.instance, user=request.user, ip=client_ip(request))
    messages.success(request, f"Team policy saved: {policy.get_shortlist_rule_display()}.")
    return redirect("catalog:shortlist")


@require_GET
@allowed("manage_shortlist")
def shortlist_export(request: HttpRequest) -> HttpResponseBase:
    entries = ShortlistEntry.objects.select_related("service__provider", "added_by")
    rows = (
        [
            entry.house_name,
            entry.service.service_id,
            entry.service.name,
            entry.service.provider.name,
            entry.service.rate,
            entry.service.provider.currency,
            entry.tags,
            entry.notes,
            entry.added_by.get_username() if entry.added_by else "",
            entry.added_at.isoformat(),
        ]
        for entry in entries
    )
    return csv_response(filename="shortlist.csv", header=SHORTLIST_CSV_COLUMNS, rows=rows)


@require_POST
@allowed("view_services")
def service_favourite(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    service.is_favourite = request.POST.get("starred") == "1"
    favourite_set(user=request.user, service=service, starred=service.is_favourite)
    back = next_url(request, reverse("catalog:service_list"))
    if request.htmx:
        return render(request, "catalog/service_list.html#star", {"service": service, "list_url": back})
    return redirect(back)


def _sync_status(request: HttpRequest) -> HttpResponse:
    context = _sync_state()
    response = render(request, "catalog/service_list.html#sync", context)
    if not context["syncing"] and not context["awaiting_first_sync"]:
        # The status only polls while a run is running or awaited: this answer is the end of one.
        response["HX-Trigger"] = SYNCED_EVENT
    return response


@require_POST
@allowed("sync_catalog")
def sync_now(request: HttpRequest) -> HttpResponse:
    runs = catalog_sync_request(providers=list(Provider.objects.filter(active=True)))
    if request.htmx:
        return _sync_status(request)
    names = ", ".join(run.provider.name for run in runs)
    messages.info(request, f"Sync started for {names}." if runs else "There is no active provider to sync.")
    return redirect("catalog:service_list")


@require_GET
@allowed("view_services")
def sync_status(request: HttpRequest) -> HttpResponse:
    return _sync_status(request)


# Catalog changes -----------------------------------------------------------------------------------


def _with_labels(changes: list[CatalogChange]) -> list[CatalogChange]:
    for change in changes:
        change.impact = impact_labels(change)
    return changes


@require_GET
@allowed("view_services")
def change_list(request: HttpRequest) -> HttpResponse:
    """What the syncs changed, touching the shortlist and presets first; filters in the URL.

    A full page load counts as a visit. "Since my last visit" is pinned in the URL (`seen`), so
    that it stays the same list through filters, pages and reloads.
    """
    partial = wants_partial(request, "change-table")
    previous = last_visit(request.user) if partial else catalog_changes_visit(user=request.user)
    if not partial and request.GET.get("since") == "visit" and "seen" not in request.GET:
        query = request.GET.copy()
        query["seen"] = seen_param(previous)
        return redirect(f"{reverse('catalog:change_list')}?{query.urlencode()}")
    data = request.GET.copy()
    data.setdefault("seen", seen_param(previous))
    filterset = ChangeFilter(data)
    page = keyset_page(
        filterset.qs, field="at", older=request.GET.get("older"), newer=request.GET.get("newer")
    )
    context: dict[str, Any] = {
        "filterset": filterset,
        "page": page,
        "rows": _with_labels(page.rows),
        "seen": data["seen"],
        "start": filterset.start,
    }
    if not request.GET.get("older") and not request.GET.get("newer"):
        context["impact"] = _with_labels(list(touching(filterset.qs)[:IMPACT_ROWS]))
    if not partial:
        context["providers"] = Provider.objects.order_by("-active", "name")
        context["periods"] = PERIODS.items()
        context["kinds"] = ChangeKind.choices
    return render_page(request, "catalog/change_list.html", "table", context, target="change-table")


@require_GET
@allowed("view_services")
def change_export(request: HttpRequest) -> HttpResponseBase:
    data = request.GET.copy()
    data.setdefault("seen", seen_param(last_visit(request.user)))
    changes = ChangeFilter(data).qs.order_by("-at", "-pk")
    rows = (
        [
            change.at.isoformat(),
            change.provider.name,
            change.service.service_id,
            change.service.name,
            change.get_kind_display(),
            change.old_value,
            change.new_value,
            change.percent,
            change.house_name or "",
            "; ".join(impact_labels(change)),
        ]
        for change in changes.iterator(chunk_size=2000)
    )
    return csv_response(filename="catalog-changes.csv", header=CHANGES_CSV_COLUMNS, rows=rows)
