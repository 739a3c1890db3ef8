from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.services import SyncAlreadyRunning, catalog_sync
from providers.models import Provider
from providers.services import ProviderNotFound, provider_choose


class Command(BaseCommand):
    help = "Sync the service catalog now and print one JSON line per provider."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (by name); default: every active provider")

    def handle(self, *args: object, provider: str | None, **options: object) -> None:
        if provider:
            try:
                providers = [provider_choose(name=provider)]
            except ProviderNotFound as exc:
                raise CommandError(str(exc)) from None
        else:
            providers = list(Provider.objects.filter(active=True).order_by("name"))
            if not providers:
                raise CommandError("no active provider: set JAP_API_KEY or enable the sandbox")
        failures = []
        for item in providers:
            try:
                report = catalog_sync(provider=item)
            except SyncAlreadyRunning as exc:
                failures.append(str(exc))
                continue
            self.stdout.write(json.dumps(report.as_dict()))
            if report.error:
                failures.append(f"{item.name}: {report.error}")
        if failures:
            raise CommandError("catalog sync failed: " + "; ".join(failures))
