from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property

from audit.services import client_ip
from jappanel.web.access import may
from orders.export import orders_csv
from orders.models import CancelRequest, Order, OrderEvent, Refill
from orders.services.actions import refills_request
from orders.services.common import OrderActionError
from orders.services.submitting import order_resolve
from orders.services.tracking import orders_check_now

# Above this many rows (as the planner estimates them) the admin shows an estimate, not a count.
EXACT_COUNT_LIMIT = 100_000


class EstimatingPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows, then trusts PostgreSQL's row estimate.

    `COUNT(*)` over millions of orders takes seconds; the planner's estimate is free and close
    enough to page through.
    """

    @cached_property
    def count(self) -> int:
        if connection.vendor == "postgresql" and isinstance(self.object_list, QuerySet):
            plan = json.loads(self.object_list.order_by().explain(format="json"))
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > EXACT_COUNT_LIMIT:
                return estimate
        return super().count


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("at", "kind", "from_status", "to_status", "user", "message")


class RefillInline(ReadOnlyInline):
    model = Refill
    fields = readonly_fields = (
        "requested_at",
        "provider_refill_id",
        "status",
        "provider_status",
        "error",
        "user",
    )


class CancelRequestInline(ReadOnlyInline):
    model = CancelRequest
    fields = readonly_fields = ("requested_at", "accepted", "answer", "user")


class ResolveForm(forms.ModelForm):
    """The order page's only editable part: a person's answer about an unconfirmed order."""

    resolution = forms.ChoiceField(
        required=False,
        choices=[("", "—"), ("placed", "It was placed"), ("not_placed", "It was not placed")],
        help_text="Look the order up in the provider's order list first.",
    )
    resolved_provider_order_id = forms.IntegerField(
        required=False, min_value=1, label="Provider order id", help_text="When it was placed."
    )
    resolution_note = forms.CharField(required=False, label="Note")

    class Meta:
        model = Order
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("resolution") == "placed" and not cleaned.get("resolved_provider_order_id"):
            self.add_error("resolved_provider_order_id", "Enter the provider's order id.")
        return cleaned


MONEY_AND_PROVIDER_FIELDS = (
    "estimated_charge",
    "charge",
    "currency",
    "provider",
    "provider_order_id",
    "provider_status",
    "start_count",
    "remains",
)


class KeepsRecords:
    """Orders and their history are never deleted, not even by a superuser: an order's spend
    counts in every budget and its events are the record of who did what."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(KeepsRecords, admin.ModelAdmin):
    form = ResolveForm
    list_display = (
        "code",
        "created_at",
        "status",
        "provider_status",
        "service",
        "provider",
        "user",
        "link",
        "quantity",
        "estimated_charge",
        "charge",
        "needs_attention",
    )
    list_filter = ("status", "needs_attention", "provider", "service__platform", "user", "created_at")
    search_fields = ("link", "=provider_order_id", "=code")
    date_hierarchy = "created_at"
    list_select_related = ("provider", "service", "user")
    show_full_result_count = False
    paginator = EstimatingPaginator
    list_per_page = 50
    inlines = [OrderEventInline, RefillInline, CancelRequestInline]
    actions = ["check_status_now", "request_refill", "resolve_unconfirmed", "export_csv"]
    readonly_fields = [f.name for f in Order._meta.fields if f.name not in ("id", "submission_token")]

    def get_fieldsets(
        self, request: HttpRequest, obj: Order | None = None
    ) -> list[tuple[Any, dict[str, Any]]]:
        order_fields = [name for name in self.readonly_fields if name not in MONEY_AND_PROVIDER_FIELDS]
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": order_fields}),
            ("Money and provider", {"fields": MONEY_AND_PROVIDER_FIELDS}),
        ]
        if obj is not None and obj.can_resolve():
            fieldsets.insert(
                0, ("Resolve", {"fields": ("resolution", "resolved_provider_order_id", "resolution_note")})
            )
        return fieldsets

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the form or the commands, never typed in here

    def has_act_permission(self, request: HttpRequest) -> bool:
        return may(request.user, "act_on_any_order")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return may(request.user, "resolve_order")

    def save_model(self, request: HttpRequest, obj: Order, form: forms.ModelForm, change: bool) -> None:
        resolution = form.cleaned_data.get("resolution")
        if not resolution:
            return
        if not self.has_resolve_permission(request):
            raise PermissionDenied
        try:
            order_resolve(
                order=obj,
                placed=resolution == "placed",
                provider_order_id=form.cleaned_data.get("resolved_provider_order_id"),
                user=request.user,
                ip=client_ip(request),
                note=form.cleaned_data.get("resolution_note", ""),
            )
        except OrderActionError as exc:
            messages.error(request, str(exc))

    @admin.action(description="Check status now", permissions=["act"])
    def check_status_now(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        count = orders_check_now(orders=queryset, user=request.user, ip=client_ip(request))
        messages.info(request, f"{count} order(s) will be checked now; final and unsent ones were skipped.")

    @admin.action(description="Request refill", permissions=["act"])
    def request_refill(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        refills = refills_request(
            orders=queryset.select_related("service", "provider"), user=request.user, ip=client_ip(request)
        )
        failed = [refill for refill in refills if refill.error]
        messages.info(request, f"{len(refills) - len(failed)} refill(s) requested.")
        for refill in failed:
            messages.warning(request, f"{refill.order.code}: {refill.error}")
        skipped = queryset.count() - len(refills)
        if skipped:
            messages.warning(request, f"{skipped} order(s) skipped: no refill for their service or state.")

    @admin.action(description="Resolve unconfirmed order", permissions=["resolve"])
    def resolve_unconfirmed(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponseRedirect | None:
        orders = list(queryset[:2])
        if len(orders) != 1 or not orders[0].can_resolve():
            messages.warning(request, "Select one unconfirmed order: resolving needs the provider's answer.")
            return None
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[orders[0].pk]))

    @admin.action(description="Export selected orders as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponseBase:
        return orders_csv(queryset)


@admin.register(Refill)
class RefillAdmin(KeepsRecords, admin.ModelAdmin):
    list_display = (
        "order",
        "provider_refill_id",
        "status",
        "provider_status",
        "requested_at",
        "finished_at",
        "error",
    )
    list_filter = ("status", "order__provider", "requested_at")
    search_fields = ("=order__code", "=provider_refill_id")
    date_hierarchy = "requested_at"
    list_select_related = ("order", "order__service")
    show_full_result_count = False
    paginator = EstimatingPaginator
    readonly_fields = [f.name for f in Refill._meta.fields if f.name != "id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(KeepsRecords, admin.ModelAdmin):
    list_display = ("at", "order", "kind", "from_status", "to_status", "user", "message")
    list_filter = ("kind", "at")
    search_fields = ("=order__code",)
    date_hierarchy = "at"
    list_select_related = ("order", "order__service", "user")
    show_full_result_count = False
    paginator = EstimatingPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CancelRequest)
class CancelRequestAdmin(KeepsRecords, admin.ModelAdmin):
    list_display = ("order", "requested_at", "accepted", "answer", "user")
    list_filter = ("accepted", "requested_at")
    search_fields = ("=order__code",)
    list_select_related = ("order", "order__service", "user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
