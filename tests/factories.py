"""Test data built the same way everywhere: factory-boy factories for providers, services, price
changes and sync runs; people with a role; a provider, a link. Fixtures are in tests/conftest.py."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from catalog.models import CatalogSync, Service, ServicePriceChange
from catalog.platforms import Platform, platform_for
from catalog.refill import refill_days_parse
from providers import crypto
from providers.client.urls import origin_of
from providers.models import Provider
from providers.sandbox.models import Service as SandboxService


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

    class Params:
        # The catalog tests' services, known by id: `ServiceFactory(provider=jap, likes=True)`.
        likes = factory.Trait(
            service_id=101,
            name="Instagram Likes [Real]",
            category="Instagram Likes",
            rate=Decimal("0.25000"),
            min_quantity=50,
            max_quantity=5_000,
            refill=True,
        )
        followers = factory.Trait(
            service_id=102, name="Instagram Followers [Refill: 30D]", rate=Decimal("1.20000")
        )
        views = factory.Trait(
            service_id=7102,
            name="YouTube Views [Max: 10M]",
            category="YouTube Views",
            platform=Platform.YOUTUBE,
            rate=Decimal("3.00000"),
            min_quantity=100,
        )


class SandboxServiceFactory(ServiceFactory):
    """An Instagram Likes service of the Sandbox provider, named after its id (presets' tests)."""

    provider = factory.LazyFunction(lambda: Provider.objects.get(name="Sandbox"))
    service_id = 9100
    name = factory.LazyAttribute(lambda service: f"Instagram likes {service.service_id}")
    category = "Instagram Likes"
    rate = Decimal("1.23456")
    max_quantity = 100_000


class PlainServiceFactory(ServiceFactory):
    """A service at 1.00 per thousand, named after its category (reports' tests)."""

    name = factory.LazyAttributeSequence(lambda service, n: f"{service.category} #{n}")
    rate = Decimal("1.00")
    max_quantity = 100_000


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


def client_of(user: object | None, **headers: str) -> Client:
    client = Client(headers=headers)
    if user is not None:
        client.force_login(user)
    return client


def a_provider(name: str) -> Provider:
    provider = Provider(name=name, api_url=f"https://{name.lower()}.example.invalid/api/v2")
    provider.set_api_key("test-key-0123456789")
    provider.save()
    return provider


def a_real_provider(name: str = "Panel") -> Provider:
    """A provider that spends real money, made once: sandbox orders count in no person's or
    campaign's budget."""
    return Provider.objects.filter(name=name).first() or a_provider(name)


def link(number: int = 1) -> str:
    return f"https://instagram.com/p/post{number}"


def links(count: int, first: int = 1) -> list[str]:
    return [f"https://instagram.com/p/post{number}" for number in range(first, first + count)]


def catalog_row_of(spec: SandboxService, provider: Provider) -> Service:
    """Our catalog row for the sandbox's service `spec`, as a sync would write it (no HTTP)."""
    service, _ = Service.objects.update_or_create(
        provider=provider,
        service_id=spec.id,
        defaults={
            "name": spec.name,
            "type": spec.type,
            "category": spec.category,
            "platform": platform_for(spec.category, spec.name),
            "rate": spec.rate,
            "min_quantity": spec.min,
            "max_quantity": spec.max,
            "refill": spec.refill,
            "refill_days": refill_days_parse(spec.name, spec.refill),
            "cancel": spec.cancel,
            "dripfeed": spec.dripfeed,
        },
    )
    return service
