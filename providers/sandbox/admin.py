from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from providers.sandbox.models import Account, Order, Refill, Service
from providers.sandbox.services import account_topup


def _topup(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, amount: Decimal) -> None:
    for account in queryset:
        account_topup(account=account, amount=amount)
    modeladmin.message_user(request, f"Added {amount} to {queryset.count()} account(s).", messages.SUCCESS)


@admin.action(description="Top up by 100.00", permissions=["change"])
def topup_100(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _topup(modeladmin, request, queryset, Decimal("100"))


@admin.action(description="Top up by 1,000.00", permissions=["change"])
def topup_1000(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _topup(modeladmin, request, queryset, Decimal("1000"))


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["id", "api_key", "house", "balance", "currency", "fault_mode", "order_seq", "created_at"]
    list_editable = ["fault_mode"]
    readonly_fields = ["house", "balance", "order_seq", "refill_seq", "created_at"]
    actions = [topup_100, topup_1000]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "type",
        "category",
        "rate",
        "min",
        "max",
        "dripfeed",
        "refill",
        "cancel",
        "active",
    ]
    list_filter = ["platform", "type", "refill", "cancel", "dripfeed", "active"]
    list_editable = ["active"]
    search_fields = ["name", "category"]


class ReadOnlyAdmin(admin.ModelAdmin):
    # The simulation owns these rows; editing them by hand would break its plan.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "service", "kind", "link", "quantity", "charge", "status", "remains"]
    list_filter = ["status", "kind"]
    search_fields = ["link"]
    list_select_related = ["account", "service"]
    raw_id_fields = ["service", "parent"]


@admin.register(Refill)
class RefillAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "status", "planned_status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["order"]
