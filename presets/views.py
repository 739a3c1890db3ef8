from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import client_ip
from jappanel.web.access import allowed, may
from jappanel.web.htmx import location_or_redirect, render_page
from orders.models import OrderStatus
from orders.services.common import ZERO, OrderInvalid
from orders.services.placing import submission_orders
from presets.forms import MAX_LINES, ApplyForm, PresetForm, kept_lines, line_formset
from presets.models import Preset, PresetLine
from presets.services import (
    MAX_ORDERS,
    lines_need_attention,
    preset_apply,
    preset_archive,
    preset_attention,
    preset_cost_per_link,
    preset_preview,
    preset_save,
)


@require_GET
@allowed("place_order")
def preset_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    presets = Preset.objects.select_related("campaign").prefetch_related(
        Prefetch("lines", queryset=PresetLine.objects.select_related("service__provider"))
    )
    presets = list(presets if archived else presets.filter(active=True))
    for preset in presets:
        preset.cost_per_link = preset_cost_per_link(preset)
        preset.attention = preset_attention(preset)
        preset.attention_title = lines_need_attention(len(preset.attention))
    context = {"presets": presets, "archived": archived, "may_manage": may(request.user, "manage_presets")}
    return render(request, "presets/preset_list.html", context)


@require_http_methods(["GET", "POST"])
@allowed("manage_presets")
def preset_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    preset = get_object_or_404(Preset, pk=pk) if pk is not None else Preset()
    data = request.POST if request.method == "POST" else None
    # "add" and "refresh" redraw the form (one more line, the services' names) without saving.
    action = request.POST.get("action", "save")
    form = PresetForm(data, instance=preset)
    formset = line_formset(data, preset=preset, add=action == "add")
    # Both validated, always: every line then shows its service's name, and all errors at once.
    valid = data is not None and form.is_valid() & formset.is_valid()
    if valid and action == "save":
        preset_save(preset=form.instance, lines=kept_lines(formset), user=request.user, ip=client_ip(request))
        messages.success(request, f"Preset “{preset.name}” saved.")
        return location_or_redirect(request, reverse("presets:preset_list"))
    context = {
        "form": form,
        "formset": formset,
        "preset": preset,
        "max_lines": MAX_LINES,
        "show_errors": data is not None and action == "save",
    }
    return render_page(request, "presets/preset_form.html", "editor", context, target="preset-form")


@require_POST
@allowed("manage_presets")
def preset_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    preset = get_object_or_404(Preset, pk=pk, active=True)
    preset_archive(preset=preset, user=request.user, ip=client_ip(request))
    messages.success(request, f"Preset “{preset.name}” archived.")
    return location_or_redirect(request, reverse("presets:preset_list"))


@require_http_methods(["GET", "POST"])
@allowed("place_order")
def preset_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    preset = get_object_or_404(Preset, pk=pk, active=True)
    form = ApplyForm(request.POST or None, preset=preset, user=request.user)
    preview = None
    if request.method == "POST" and form.is_valid():
        links, campaign, token = (
            form.cleaned_data[name] for name in ("links", "campaign", "submission_token")
        )
        if request.POST.get("action") == "place" and form.previewed():
            try:
                preset_apply(
                    preset=preset,
                    links=links,
                    campaign=campaign,
                    token=token,
                    user=request.user,
                    ip=client_ip(request),
                )
                return location_or_redirect(
                    request, f"{reverse('presets:preset_applied', args=[preset.pk])}?form={token}"
                )
            except OrderInvalid as exc:
                for message in exc.errors.values():
                    form.add_error(None, message)
        elif request.POST.get("action") == "place":
            form.add_error(None, "The links or the campaign changed since the preview: check it, then place.")
        elif request.POST.get("action") == "drop_bad":
            form = _without_bad_links(request, form, preset=preset, links=links, campaign=campaign)
            links = form.cleaned_data.get("links", [])
        preview = (
            preset_preview(preset=preset, links=links, campaign=campaign, user=request.user)
            if "links" in form.cleaned_data
            else None
        )
    attention = preset_attention(preset)
    context = {
        "form": form,
        "preset": preset,
        # A line whose service vanished or whose quantity is now out of bounds: no apply until fixed.
        "attention": attention,
        "attention_title": lines_need_attention(len(attention)),
        "may_manage": may(request.user, "manage_presets"),
        "preview": preview,
        "fingerprint": form.fingerprint() if preview else "",
        "max_orders": MAX_ORDERS,
    }
    return render_page(request, "presets/preset_apply.html", "apply", context, target="apply-form")


def _without_bad_links(
    request: HttpRequest, form: ApplyForm, *, preset: Preset, links: list[str], campaign: Any
) -> ApplyForm:
    """The same apply form with the links that have an order which cannot be placed taken out."""
    preview = preset_preview(preset=preset, links=links, campaign=campaign, user=request.user)
    bad = set(preview.bad_links)
    if len(bad) == len(preview.links):
        form.add_error(None, "No link can be placed as it is: nothing was removed.")
        return form
    data = request.POST.copy()
    data["links"] = "\n".join(link for link in links if link not in bad)
    rebuilt = ApplyForm(data, preset=preset, user=request.user)
    rebuilt.is_valid()
    return rebuilt


@require_GET
@allowed("view_orders")
def preset_applied(request: HttpRequest, pk: int) -> HttpResponse:
    """What one apply placed: every order with its status, those waiting for approval marked."""
    preset = get_object_or_404(Preset, pk=pk)
    orders = submission_orders(request.GET.get("form", ""))
    totals: dict[str, Any] = {}
    for order in orders:
        totals[order.currency] = totals.get(order.currency, ZERO) + order.estimated_charge
    waiting = sum(1 for order in orders if order.status == OrderStatus.AWAITING_APPROVAL)
    context = {
        "preset": preset,
        "orders": orders,
        "totals": totals,
        "waiting": waiting,
        "summary": f"{len(orders)} order{pluralize(len(orders))} placed",
        "codes": ",".join(order.code for order in orders),
    }
    return render(request, "presets/preset_applied.html", context)
