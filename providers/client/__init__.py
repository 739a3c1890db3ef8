"""The JAP API v2 client: the only code in jappanel that speaks HTTP to a panel."""

from __future__ import annotations

from providers.client.client import MAX_IDS_PER_CALL, JapClient
from providers.client.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnreachable,
)
from providers.client.orders import SERVICE_TYPES, OrderFieldError, OrderRequest, validate_order_fields
from providers.client.results import (
    FINAL_ORDER_STATUSES,
    FINAL_REFILL_STATUSES,
    Balance,
    ItemError,
    ProviderOrderStatus,
    ServiceInfo,
    ServicesResult,
)
from providers.client.sandbox import SandboxAdapter

__all__ = [
    "FINAL_ORDER_STATUSES",
    "FINAL_REFILL_STATUSES",
    "MAX_IDS_PER_CALL",
    "SERVICE_TYPES",
    "Balance",
    "ItemError",
    "JapClient",
    "OrderFieldError",
    "OrderRequest",
    "ProviderOrderStatus",
    "ProviderError",
    "ProviderOutcomeUnknown",
    "ProviderRateLimited",
    "ProviderRejected",
    "ProviderUnreachable",
    "SandboxAdapter",
    "ServiceInfo",
    "ServicesResult",
    "validate_order_fields",
]
