from __future__ import annotations

from decimal import Decimal

import factory

from providers.sandbox.models import Service, ServiceType


class ServiceFactory(factory.django.DjangoModelFactory):
    """A sandbox service with round numbers, for exact money arithmetic."""

    class Meta:
        model = Service

    id = factory.Sequence(lambda n: 900_000 + n)
    name = factory.LazyAttribute(lambda service: f"Test {service.type} {service.id}")
    type = ServiceType.DEFAULT
    category = "Test"
    platform = "Test"
    rate = Decimal("1.25")
    min = 10
    max = 10_000
    dripfeed = True
    refill = True
    refill_days = 30
    cancel = True
    start_max_seconds = 3600
    speed_per_day = 10_000
