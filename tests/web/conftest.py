"""The pages as a whole: the personas and the world of the permission walk, reused."""

from __future__ import annotations

from tests.team.conftest import (  # noqa: F401 (fixtures)
    account,
    catalog,
    followers,
    order_settings,
    people,
    sandbox,
)
from tests.team.test_permissions import world  # noqa: F401 (fixture)
