"""The Docker healthcheck of the worker and beat containers: is my heartbeat recent?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jappanel.heartbeat import heartbeat_states


class Command(BaseCommand):
    help = "Exit 0 if the worker's (or beat's) last heartbeat is younger than HEARTBEAT_MAX_AGE."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("process", choices=["worker", "beat"])

    def handle(self, *args: Any, process: str, **options: Any) -> None:
        state = heartbeat_states()[process]
        if not state.alive:
            raise CommandError(f"{process}: {state.summary}")
        self.stdout.write(f"{process}: ok")
