from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from catalog.filters import ServiceFilter, first_synced_at
from catalog.forms import CatalogDisplayForm
from catalog.models import CatalogSync, Service
from catalog.services import catalog_sync_request, favourite_set
from jappanel.access import allowed
from jappanel.client import SERVICE_TYPES
from jappanel.providers.models import Provider

PRICE_HISTORY_LENGTH = 50
# Some panels describe a service in `desc`, `description` or `description_<lang>`; JAP sends none.
DESCRIPTION_PREFIX = "desc"
SYNCED_EVENT = "catalog-synced"


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


def _partial(request: HttpRequest) -> bool:
    # A history restore (back to a page htmx no longer has a snapshot of) wants the whole page.
    return bool(request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request)


def _render_page(request: HttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    """The whole page, or only its `partial` for htmx; the browser caches the two apart."""
    response = render(request, f"{template}#{partial}" if _partial(request) else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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
    page = _FullPagePaginator(filterset.qs, display.page_size).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "filterset": filterset,
        "display": display,
        "page": page,
        "quantity": display.cost_quantity,
        "list_url": request.get_full_path(),
    }
    if not _partial(request) or not page.object_list:
        context.update(_sync_state())
    if not _partial(request):
        context["categories"] = (
            Service.objects.filter(active=True)
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
        context["types"] = sorted(SERVICE_TYPES)
    return _render_page(request, "catalog/service_list.html", "table", context)


def _order_url(service: Service) -> str:
    return f"{reverse('orders:order_create')}?service={service.pk}"


def _descriptions(raw: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (key, value.strip())
        for key, value in raw.items()
        if key.lower().startswith(DESCRIPTION_PREFIX) and isinstance(value, str) and value.strip()
    ]


@require_GET
@allowed("view_services")
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    services = Service.objects.select_related("provider").annotate(first_synced_at=first_synced_at())
    service = get_object_or_404(services, pk=pk)
    context = {
        "service": service,
        "changes": list(service.price_changes.all()[:PRICE_HISTORY_LENGTH]),
        "descriptions": _descriptions(service.raw),
        "order_url": _order_url(service),
    }
    return _render_page(request, "catalog/service_detail.html", "panel", context)


@require_POST
@allowed("view_services")
def service_favourite(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    service.is_favourite = request.POST.get("starred") == "1"
    favourite_set(user=request.user, service=service, starred=service.is_favourite)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("catalog:service_list")
    if request.htmx:
        return render(request, "catalog/service_list.html#star", {"service": service, "list_url": next_url})
    return redirect(next_url)


def _sync_status(request: HttpRequest) -> HttpResponse:
    context = _sync_state()
    response = render(request, "catalog/service_list.html#sync", context)
    if not context["syncing"]:
        # The status only polls while a run is running: this answer is the end of one.
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
