"""Personas for the permission tests, and the sandbox fixtures of the order tests."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import clear_url_caches

import jappanel.urls
from providers.models import Provider
from tests.orders.conftest import (  # noqa: F401 (fixtures)
    account,
    catalog,
    followers,
    order_settings,
    sandbox,
)
from tests.reports.conftest import a_provider

PASSWORD = "correct-horse-battery"
PERSONAS = ("viewer", "buyer", "other_buyer", "approver", "manager", "outsider", "anonymous")
ROLE_OF = {
    "viewer": "Viewer",
    "buyer": "Buyer",
    "other_buyer": "Buyer",
    "approver": "Approver",
    "manager": "Manager",
}


def person(name: str, role: str | None = None, **extra: object):
    user = get_user_model().objects.create_user(name, f"{name}@example.com", PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def people(db) -> dict[str, object]:
    """One user per persona (anonymous is None)."""
    users: dict[str, object] = {name: person(name, ROLE_OF.get(name)) for name in PERSONAS[:-1]}
    users["anonymous"] = None
    return users


def a_real_provider(name: str = "Panel") -> Provider:
    """A provider that spends real money, made once: sandbox orders count in no person's or
    campaign's budget."""
    return Provider.objects.filter(name=name).first() or a_provider(name)


def client_of(user: object | None, **headers: str) -> Client:
    client = Client(headers=headers)
    if user is not None:
        client.force_login(user)
    return client


def reload_urls() -> None:
    importlib.reload(jappanel.urls)
    clear_url_caches()


@pytest.fixture
def email_configured(settings, mailoutbox):
    """An email server is configured (EMAIL_URL): the URLs are built again with it."""
    settings.EMAIL_ENABLED = True
    reload_urls()
    yield
    settings.EMAIL_ENABLED = False
    reload_urls()
