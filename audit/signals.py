"""Changes of who may: users, their roles and permissions, and the roles' permissions.

They are made in the Django admin (or a shell) with no service in between, so signals record
them; the person and address come from the request in progress (AuditRequesterMiddleware).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from audit.models import AuditAction
from audit.services import audit_record, requester

USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")


def _user_state(user: Any) -> dict[str, Any]:
    return {name: getattr(user, name, None) for name in USER_FIELDS}


def _record(**kwargs: Any) -> None:
    who = requester()
    audit_record(actor=who.actor, ip=who.ip, **kwargs)


def _user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).first()
    instance._audit_before = _user_state(old) if old else None
    instance._audit_password_changed = bool(old and old.password != instance.password)


def _user_post_save(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    if created:
        _record(action=AuditAction.USER_CREATED, target=instance, after=_user_state(instance))
        return
    before = getattr(instance, "_audit_before", None) or {}
    after = _user_state(instance)
    changed = {name for name in USER_FIELDS if before.get(name) != after[name]}
    password = getattr(instance, "_audit_password_changed", False)
    if changed or password:
        _record(
            action=AuditAction.USER_CHANGED,
            target=instance,
            before={name: before.get(name) for name in sorted(changed)},
            after={name: after[name] for name in sorted(changed)},
            note="Password changed." if password else "",
        )


def _user_post_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    _record(action=AuditAction.USER_DELETED, before=_user_state(instance), note=instance.get_username())


def _names(objects: Any) -> list[str]:
    return sorted(str(item) for item in objects)


def _m2m_recorder(action_name: str, field: str) -> Any:
    """A receiver recording the names of a user's groups or permissions (or a group's), before and after."""

    def receiver(
        sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
    ) -> None:
        if reverse:
            # group.user_set.add(user) and the like: record it on each user concerned.
            if action in ("post_add", "post_remove") and pk_set:
                verb = "added to" if action == "post_add" else "removed from"
                for target in model.objects.filter(pk__in=pk_set):
                    _record(action=action_name, target=target, note=f"{instance} {verb} {target}")
            return
        if action.startswith("pre_"):
            instance._audit_m2m_before = _names(getattr(instance, field).all())
            return
        if action in ("post_add", "post_remove", "post_clear"):
            before = getattr(instance, "_audit_m2m_before", [])
            after = _names(getattr(instance, field).all())
            if before != after:
                _record(action=action_name, target=instance, before={field: before}, after={field: after})

    return receiver


def connect_signals() -> None:
    user_model = get_user_model()
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="audit-user-pre-save")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="audit-user-post-save")
    post_delete.connect(_user_post_delete, sender=user_model, dispatch_uid="audit-user-delete")
    for through, action, field in (
        (user_model.groups.through, AuditAction.USER_ROLES, "groups"),
        (user_model.user_permissions.through, AuditAction.USER_PERMISSIONS, "user_permissions"),
        (Group.permissions.through, AuditAction.GROUP_PERMISSIONS, "permissions"),
    ):
        m2m_changed.connect(
            _m2m_recorder(action, field), sender=through, weak=False, dispatch_uid=f"audit-{action}"
        )
