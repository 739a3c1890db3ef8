"""Saving campaigns and budgets, each change written to the audit log with its before and after."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.forms.models import model_to_dict

from audit.models import AuditAction
from audit.services import audit_record
from team.models import Budget, Campaign


def _values(instance: models.Model) -> dict[str, Any]:
    return {
        name: str(value) if value is not None else None for name, value in model_to_dict(instance).items()
    }


def _save(instance: Campaign | Budget, *, action: str, user: AbstractBaseUser | None, ip: str | None) -> None:
    before = None
    if instance.pk is not None:
        before = _values(type(instance).objects.get(pk=instance.pk))
    with transaction.atomic():
        instance.save()
        audit_record(
            action=action, actor=user, ip=ip, target=instance, before=before, after=_values(instance)
        )


def campaign_save(*, campaign: Campaign, user: AbstractBaseUser | None, ip: str | None) -> Campaign:
    """Create or change a campaign (its budget and approval threshold spend money: audited)."""
    _save(campaign, action=AuditAction.CAMPAIGN_CHANGED, user=user, ip=ip)
    return campaign


def budget_save(*, budget: Budget, user: AbstractBaseUser | None, ip: str | None) -> Budget:
    """Create or change a person's budget or a provider's team cap, audited."""
    _save(budget, action=AuditAction.BUDGET_CHANGED, user=user, ip=ip)
    return budget
