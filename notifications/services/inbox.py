"""A person's inbox: what is unread, marking read, and their choices per kind."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import Choice, Kind, Notification, Preference
from notifications.services.recording import default_choice


def inbox(user: AbstractBaseUser, *, kind: str = "", unread: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user_id=user.pk).select_related("event")
    if kind:
        notifications = notifications.filter(event__kind=kind)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    # The order of `notification_once_per_person` (user, event): copies are made with their event.
    return notifications.order_by("-event_id")


def unread_count(user: AbstractBaseUser) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notification_read(*, user: AbstractBaseUser, notification_id: int) -> Notification | None:
    """Mark one of `user`'s notifications read and return it (None: not theirs)."""
    notification = (
        Notification.objects.filter(user_id=user.pk, pk=notification_id).select_related("event").first()
    )
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_read_all(*, user: AbstractBaseUser, kind: str = "") -> int:
    """Mark every unread notification of `user` (of `kind`, if given) read; return how many."""
    return inbox(user, kind=kind, unread=True).update(read_at=timezone.now())


def preferences_of(user: AbstractBaseUser) -> dict[str, str]:
    """Every kind with the person's choice, their default where they chose nothing."""
    chosen = dict(Preference.objects.filter(user_id=user.pk).values_list("kind", "choice"))
    return {kind: chosen.get(kind, default_choice(kind)) for kind in Kind.values}


def preferences_save(*, user: AbstractBaseUser, choices: Mapping[str, str]) -> None:
    """Keep the person's choices; a choice equal to the default is stored as none."""
    with transaction.atomic():
        Preference.objects.filter(user_id=user.pk).delete()
        Preference.objects.bulk_create(
            [
                Preference(user_id=user.pk, kind=kind, choice=choice)
                for kind, choice in choices.items()
                if kind in Kind.values and choice in Choice.values and choice != default_choice(kind)
            ]
        )
