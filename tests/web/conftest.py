"""The pages as a whole: the personas and the world of the permission walk, reused."""

from __future__ import annotations

import pytest

from tests.team.test_permissions import world  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """The walk's world orders from the sandbox, on the settings of the order tests."""
