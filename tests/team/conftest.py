"""The team tests order from the sandbox, on tests/conftest.py's order_settings."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """Every test here orders from the sandbox, on the settings of the order tests."""
