"""Create the first admin login: from DJANGO_SUPERUSER_* if a password is given, else a random one."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists yet: DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and "
        "DJANGO_SUPERUSER_PASSWORD when the password is set (it must pass the password validators), "
        "otherwise 'admin' with a random password printed once. There is no default password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            # The password was shown once, when it was made; it is not stored anywhere.
            self.stdout.write(
                f"Login: {existing.get_username()} (password printed on first run; "
                f"change it with: python manage.py changepassword {existing.get_username()})"
            )
            return
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if password:
            try:
                validate_password(password, User(username=username, email=email))
            except ValidationError as exc:
                raise CommandError("DJANGO_SUPERUSER_PASSWORD: " + " ".join(exc.messages)) from None
            User.objects.create_superuser(username=username, email=email, password=password)
            self.stdout.write(f"Login: {username} (password from DJANGO_SUPERUSER_PASSWORD)")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(f"Login: {username}")
        self.stdout.write(f"Password: {password}")
