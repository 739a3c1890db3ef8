"""What browser tests share: signing in through the login form, as a person does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page


def sign_in(page: Page, username: str, password: str = PASSWORD) -> Page:
    """Sign `username` in on `page` and wait for the home page."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page
