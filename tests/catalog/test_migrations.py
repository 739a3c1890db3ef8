"""The team policy's move from the team app to the catalog, on a database made by the migrations
before it: the table and its row stay, the catalog's model reads them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import ShortlistRule, TeamPolicy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("back_to_the_latest")]
# The leaves of the two apps before the move (as main had them).
BEFORE = [("team", "0005_campaign_members"), ("catalog", "0007_catalog_change_events_and_visits")]


def test_the_team_policy_saved_before_the_move_is_the_one_in_force_after_it(db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    OldPolicy = old_apps.get_model("team", "TeamPolicy")
    OldPolicy.objects.all().delete()
    OldPolicy.objects.create(pk=TeamPolicy.SINGLETON_ID, shortlist_rule=ShortlistRule.ONLY)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert TeamPolicy._meta.app_label == "catalog" and TeamPolicy._meta.db_table == "team_teampolicy"
    assert list(TeamPolicy.objects.values_list("pk", "shortlist_rule")) == [
        (TeamPolicy.SINGLETON_ID, ShortlistRule.ONLY)
    ]
    assert TeamPolicy.current().shortlist_rule == ShortlistRule.ONLY


def test_the_move_back_keeps_the_row_too(db):
    TeamPolicy.objects.update_or_create(pk=TeamPolicy.SINGLETON_ID, defaults={"shortlist_rule": "approval"})
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldPolicy = executor.loader.project_state(BEFORE).apps.get_model("team", "TeamPolicy")
    assert list(OldPolicy.objects.values_list("shortlist_rule", flat=True)) == ["approval"]
