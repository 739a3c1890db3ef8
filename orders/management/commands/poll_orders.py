from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from orders.services.tracking import orders_poll_round


class Command(BaseCommand):
    help = (
        "Run one order-status polling round now, in this process, and print "
        '{"due", "checked", "changed", "calls", "errors", "seconds"}.'
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(orders_poll_round().as_dict()))
