"""Who may do what: the roles, the one map from actions to permissions, and the view helpers.

Roles are Django groups holding permissions; a view asks for an *action* (`place_order`), never
for a role, so a role can change without touching a view. Superusers pass every check.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.management import create_permissions
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

# Every action a person can take in our pages, and the permission it needs.
ACTIONS: dict[str, str] = {
    "view_services": "catalog.view_service",
    "sync_catalog": "catalog.sync_catalog",
    "view_orders": "orders.view_order",
    "view_refills": "orders.view_refill",
    "view_reports": "orders.view_order",
    "place_order": "orders.place_order",
    "act_on_own_order": "orders.act_on_own_order",
    "act_on_any_order": "orders.act_on_any_order",
    "resolve_order": "orders.resolve_order",
    "approve_order": "orders.approve_order",
    "manage_campaigns": "team.change_campaign",
    "manage_presets": "presets.change_preset",
    "manage_people": "auth.change_user",
    "manage_budgets": "team.change_budget",
    "manage_providers": "providers.change_provider",
    "manage_shortlist": "catalog.change_shortlistentry",
    "view_audit": "audit.view_auditentry",
}

VIEWER = ["catalog.view_service", "orders.view_order", "orders.view_refill"]
# Syncing only reads the providers' lists: it spends nothing.
BUYER = [
    *VIEWER,
    "orders.place_order",
    "orders.act_on_own_order",
    "catalog.sync_catalog",
    # Presets only bundle orders a buyer may place anyway; archived rather than deleted.
    "presets.view_preset",
    "presets.add_preset",
    "presets.change_preset",
]
APPROVER = [
    *BUYER,
    "orders.act_on_any_order",
    "orders.resolve_order",
    "orders.approve_order",
    "audit.view_auditentry",
]
MANAGER = [
    *APPROVER,
    "providers.view_provider",
    "providers.add_provider",
    "providers.change_provider",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    "team.view_campaign",
    "team.add_campaign",
    "team.change_campaign",
    # Budgets: no delete: a change is audited, a deletion would not be (set the amount instead).
    "team.view_budget",
    "team.add_budget",
    "team.change_budget",
    # The shortlist and the team policy (one page); removing an entry is audited like a change.
    "catalog.view_shortlistentry",
    "catalog.add_shortlistentry",
    "catalog.change_shortlistentry",
    "catalog.delete_shortlistentry",
]
ROLES: dict[str, list[str]] = {"Viewer": VIEWER, "Buyer": BUYER, "Approver": APPROVER, "Manager": MANAGER}


def roles_sync(*, apps: Any = global_apps) -> None:
    """Create the role groups with exactly their permissions; safe to run any number of times.

    In a migration (historical `apps`), permissions of apps not migrated yet are left out: the
    post_migrate sync at the end of every `migrate` adds them, so an old migration never has to
    know about a later app.
    """
    historical = apps is not global_apps
    labels = {codename.split(".")[0] for permissions in ROLES.values() for codename in permissions}
    for label in labels:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            if not historical:
                raise
            continue
        # Historical app configs (in a migration) have no models module; permissions need one.
        module = getattr(config, "models_module", None)
        config.models_module = module or True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = []
        for label, codename in (item.split(".") for item in codenames):
            found = permission_model.objects.filter(content_type__app_label=label, codename=codename).first()
            if found is None and not historical:
                raise LookupError(f"Role {name}: no permission {label}.{codename}")
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)


def roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    roles_sync(apps=kwargs.get("apps") or global_apps)


def may(user: Any, action: str) -> bool:
    return bool(user.is_active and user.has_perm(ACTIONS[action]))


def allowed(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator: the view runs only for a person who may take `action`, else 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not may(request.user, action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def has_role(user: Any) -> bool:
    return bool(user.is_superuser or user.groups.exists() or user.user_permissions.exists())


def password_confirmed(request: HttpRequest, password: str) -> bool:
    """Whether `password` is the signed-in person's own, asked again before a change that matters
    (setting someone's password or role). It goes through django-axes like a sign-in, so wrong
    answers count toward the lockout and a session left open cannot guess it at leisure."""
    if not password:
        return False
    confirmed = authenticate(request, username=request.user.get_username(), password=password)
    if confirmed is None or confirmed.pk != request.user.pk:
        return False
    # Checking may have upgraded the stored hash (a newer hasher), which would end this session.
    update_session_auth_hash(request, confirmed)
    return True
