"""Factories for the catalog pages: providers, services, price changes, sync runs, people."""

from __future__ import annotations

from decimal import Decimal

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from catalog.models import CatalogSync, Service, ServicePriceChange
from catalog.platforms import Platform
from providers import crypto
from providers.client.urls import origin_of
from providers.models import Provider


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Panel {n}")
    api_url = factory.LazyAttribute(
        lambda provider: f"https://{provider.name.lower().replace(' ', '-')}.example/api/v2"
    )
    api_key_encrypted = factory.LazyFunction(lambda: crypto.encrypt("0123456789abcdef"))
    api_key_origin = factory.LazyAttribute(lambda provider: origin_of(provider.api_url))
    currency = "USD"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    provider = factory.SubFactory(ProviderFactory, name="JAP")
    service_id = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Instagram Followers [Refill: 30D] #{n}")
    type = "Default"
    category = "Instagram Followers"
    platform = Platform.INSTAGRAM
    rate = Decimal("0.90000")
    min_quantity = 10
    max_quantity = 10_000
    raw = factory.LazyAttribute(lambda service: {"service": service.service_id, "name": service.name})


class PriceChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePriceChange

    service = factory.SubFactory(ServiceFactory)
    old_rate = Decimal("1.00000")
    new_rate = Decimal("0.90000")
    old_min = 10
    new_min = 10
    old_max = 10_000
    new_max = 10_000


class CatalogSyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogSync

    provider = factory.SubFactory(ProviderFactory, name="JAP")


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
