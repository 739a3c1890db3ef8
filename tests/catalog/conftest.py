"""The catalog pages' fixtures: no Sandbox provider unless wanted, a buyer and their clients."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from providers.models import Provider


@pytest.fixture
def no_sandbox(db) -> None:
    """Without the provider the post_migrate hook creates, each test chooses its providers."""
    Provider.objects.filter(name="Sandbox").delete()


@pytest.fixture
def buyer(db):
    user = get_user_model().objects.create_user("buyer", "buyer@example.com", "correct-horse-battery")
    user.groups.add(Group.objects.get(name="Buyer"))
    return user


@pytest.fixture
def buyer_client(buyer) -> Client:
    client = Client()
    client.force_login(buyer)
    return client


@pytest.fixture
def htmx_client(buyer) -> Client:
    """A client whose every request is an htmx request, not a boosted one."""
    client = Client(headers={"HX-Request": "true"})
    client.force_login(buyer)
    return client
