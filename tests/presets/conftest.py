"""Catalog rows and presets made directly; the order fixtures are tests/conftest.py's."""

from __future__ import annotations

import pytest

from presets.models import Preset, PresetLine
from presets.services import preset_save


def a_preset(*lines: tuple, name: str = "Launch", **fields: object) -> Preset:
    """`a_preset((service, 1000), (service, 100, 5, 30))`: lines of (service, quantity[, runs, interval])."""
    preset = Preset(name=name, **fields)
    made = [
        PresetLine(
            service=line[0],
            quantity=line[1],
            runs=line[2] if len(line) > 2 else None,
            interval=line[3] if len(line) > 3 else None,
        )
        for line in lines
    ]
    return preset_save(preset=preset, lines=made, user=None, ip=None)


@pytest.fixture(autouse=True)
def _sandbox_settings(order_settings) -> None:
    """Every test here orders from the sandbox, on the settings of the order tests."""
