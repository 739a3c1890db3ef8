"""Who set each person's password, role or email address (team.models.CredentialsSetBy), however
it was set: our people pages, the Django admin, `changepassword`, a reset link, a shell.

The one who set it is the requester of the request in progress (audit.services.requester): none
outside a request, or when nobody is signed in.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save

from audit.services import requester
from team.services import credentials_set

# Besides their groups and permissions, what lets a person approve.
ROLE_FIELDS = ("is_superuser",)
WATCHED = ("email", *ROLE_FIELDS)


def _user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    # A sign-in saves last_login only: no query for it.
    watched = instance.pk is not None and (update_fields is None or set(WATCHED) & set(update_fields))
    before = sender.objects.filter(pk=instance.pk).values(*WATCHED).first() if watched else None
    instance._credentials_before = before


def _user_post_save(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_credentials_before", None)
    if created:
        changed = {
            "password": instance.has_usable_password(),
            "email": bool(instance.email),
            "role": any(getattr(instance, name) for name in ROLE_FIELDS),
        }
    else:
        # set_password() keeps the new password in `_password` until the save is over; a hash
        # upgraded at sign-in is saved without it, and is no new password.
        changed = {"password": getattr(instance, "_password", None) is not None}
        if before is not None:
            changed["email"] = before["email"] != instance.email
            changed["role"] = any(before[name] != getattr(instance, name) for name in ROLE_FIELDS)
    if any(changed.values()):
        credentials_set(person=instance, by=requester().actor, **changed)


def _roles_changed(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    # user.groups.add(group): the person is `instance`; group.user_set.add(user): those in pk_set.
    people = model.objects.filter(pk__in=pk_set or ()) if reverse else [instance]
    for person in people:
        credentials_set(person=person, by=requester().actor, role=True)


def connect_signals() -> None:
    user_model = get_user_model()
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="team-credentials-pre-save")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="team-credentials-post-save")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(
            _roles_changed, sender=through, dispatch_uid=f"team-credentials-{through.__name__}"
        )
