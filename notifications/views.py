from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jappanel.web.access import allowed
from jappanel.web.htmx import location_or_redirect, render_page
from notifications.forms import BalanceAlertForm, EndpointForm, PreferencesForm
from notifications.models import BalanceAlert, Delivery, Endpoint, Kind
from notifications.services.health import health_check
from notifications.services.inbox import (
    inbox,
    notification_read,
    notifications_read_all,
    preferences_of,
    preferences_save,
    unread_count,
)
from notifications.services.webhooks import deliveries_described, delivery_resend, endpoint_enable

PAGE_SIZE = 50


@require_GET
@allowed("view_orders")
def bell(request: HttpRequest) -> HttpResponse:
    # The bell is what every page polls, so it also notices a stopped worker or scheduler
    # (whose own periodic check cannot run then), at most once a minute per process.
    if cache.add("notifications:health", True, 60):
        health_check()
    context = {"unread": unread_count(request.user), "interval": settings.NOTIFY_BELL_SECONDS, "polled": True}
    return render(request, "notifications/partials/_bell.html#bell", context)


@require_GET
@allowed("view_orders")
def notification_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "") if request.GET.get("kind") in Kind.values else ""
    unread = request.GET.get("unread") == "1"
    page = Paginator(inbox(request.user, kind=kind, unread=unread), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "kind": kind, "unread": unread, "kinds": Kind.choices}
    return render_page(
        request, "notifications/notification_list.html", "table", context, target="inbox-table"
    )


@require_GET
@allowed("view_orders")
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = notification_read(user=request.user, notification_id=pk)
    url = notification.event.url if notification else ""
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return redirect("notifications:notification_list")
    return redirect(url)


@require_POST
@allowed("view_orders")
def notification_read_all(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "") if request.POST.get("kind") in Kind.values else ""
    count = notifications_read_all(user=request.user, kind=kind)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return location_or_redirect(
        request,
        f"{reverse('notifications:notification_list')}?kind={kind}"
        if kind
        else reverse("notifications:notification_list"),
    )


@require_http_methods(["GET", "POST"])
@allowed("view_orders")
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, initial_choices=preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        preferences_save(user=request.user, choices=form.cleaned_data)
        messages.success(request, "Your choices are saved.")
        return location_or_redirect(request, reverse("notifications:preferences"))
    return render(request, "notifications/preferences.html", {"form": form, "email": request.user.email})


@require_GET
@allowed("manage_campaigns")
def endpoint_list(request: HttpRequest) -> HttpResponse:
    context = {
        "endpoints": Endpoint.objects.select_related("campaign"),
        "alerts": BalanceAlert.objects.select_related("provider"),
        "alert_form": BalanceAlertForm(),
    }
    return render(request, "notifications/endpoint_list.html", context)


@require_http_methods(["GET", "POST"])
@allowed("manage_campaigns")
def endpoint_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk) if pk else None
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if endpoint is None and saved.type == Endpoint.Type.WEBHOOK:
            # Shown once: the receiver needs it to check signatures; it is never shown again.
            messages.info(request, f"Signing secret of “{saved.name}”, shown once: {saved._secret()}")
        return location_or_redirect(request, reverse("notifications:endpoint_log", args=[saved.pk]))
    return render(request, "notifications/endpoint_form.html", {"form": form, "endpoint": endpoint})


@require_GET
@allowed("manage_campaigns")
def endpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    deliveries = Delivery.objects.filter(endpoint=endpoint).order_by("-pk")
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = deliveries_described(page.object_list)
    return render_page(
        request, "notifications/endpoint_log.html", "log", {"endpoint": endpoint, "page": page}, target="log"
    )


@require_POST
@allowed("manage_campaigns")
def endpoint_enable_view(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    endpoint_enable(endpoint=endpoint)
    messages.success(request, f"“{endpoint.name}” is enabled again.")
    return location_or_redirect(request, reverse("notifications:endpoint_log", args=[pk]))


@require_POST
@allowed("manage_campaigns")
def delivery_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), pk=pk)
    delivery_resend(delivery=delivery)
    messages.success(request, "Sent again.")
    return location_or_redirect(request, reverse("notifications:endpoint_log", args=[delivery.endpoint_id]))


@require_POST
@allowed("manage_campaigns")
def balance_alert_save(request: HttpRequest) -> HttpResponse:
    existing = BalanceAlert.objects.filter(provider_id=request.POST.get("provider") or None).first()
    form = BalanceAlertForm(request.POST, instance=existing)
    if form.is_valid():
        form.save()
        messages.success(request, "Threshold saved.")
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return location_or_redirect(request, reverse("notifications:endpoint_list"))
