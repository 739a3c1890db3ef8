"""The reports page over HTTP: controls, htmx, the CSV, error messages, queries and who sees it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import OrderStatus
from providers.models import Provider
from team.models import Campaign
from tests.factories import PlainServiceFactory, a_provider, client_of, person
from tests.reports.conftest import an_order

URL = "/reports/"
EXPORT = "/reports/export.csv"


class _Tables(HTMLParser):
    """The cell texts of every row of the report tables, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._table = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "report-table" in (dict(attrs).get("class") or ""):
            self._table += 1
        elif self._table and tag == "tr":
            self.rows.append([])
        elif self._table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table -= 1
        elif self._table and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.rows


@pytest.fixture
def viewer(db):
    return person("viewer", "Viewer")


@pytest.fixture
def march(service):
    """A campaign with a budget, one without, orders of both and some of none, in two currencies."""
    spring = Campaign.objects.create(name="Spring", monthly_budget=Decimal("40.00"))
    summer = Campaign.objects.create(name="Summer")
    an_order(service, OrderStatus.COMPLETED, "12.50", charge="12.25", campaign=spring)
    an_order(service, OrderStatus.PARTIAL, "10.00", quantity=3, remains=1, campaign=spring)
    an_order(service, OrderStatus.CANCELED, "4.00", charge="4.00", campaign=summer)
    an_order(service, OrderStatus.QUEUED, "1.10", campaign=summer)
    an_order(service, OrderStatus.COMPLETED, "0.00015", charge="0.00015")
    an_order(service, OrderStatus.COMPLETED, "3.00", currency="EUR", campaign=spring)
    return {"spring": spring, "summer": summer}


def test_the_csv_is_exactly_the_table_on_the_page(viewer, march):
    client = client_of(viewer)
    page = client.get(URL, {"month": "2026-03"}).content.decode()
    export = client.get(EXPORT, {"month": "2026-03"})
    assert export["Content-Type"].startswith("text/csv")
    header, *lines = list(csv.reader(io.StringIO(export.content.decode())))
    shown = table_rows(page)
    # The page has one table per currency, each with its header; the CSV one header and a column.
    headers = [row for row in shown if row[0] == "Campaign"]
    assert headers == [[header[0], *header[2:]]] * 2
    body = [row for row in shown if row[0] != "Campaign"]
    assert len(body) == len(lines) == 6
    for cells, line in zip(body, lines, strict=True):
        assert cells[0] == line[0]
        for text, value in zip(cells[1:], line[2:], strict=True):
            if value == "":
                assert text == ""
            else:
                assert Decimal(text.replace(",", "").rstrip("%")) == Decimal(value), (cells, line)
    assert [line[:2] for line in lines] == [
        ["Spring", "EUR"],
        ["Total", "EUR"],
        ["Spring", "USD"],
        ["Summer", "USD"],
        ["No campaign", "USD"],
        ["Total", "USD"],
    ]
    # Decimal strings to the fifth place, as stored: nothing rounded away.
    spring = lines[2]
    assert spring[3:7] == ["0.00000", "22.25000", "3.33333", "18.91667"]
    assert spring[7:9] == ["40.00000", "47.3"]
    assert lines[4][6] == "0.00015"


def test_the_csv_writes_a_campaign_name_that_looks_like_a_formula_as_text(viewer, service):
    an_order(
        service, OrderStatus.COMPLETED, "2.00", charge="2.00", campaign=Campaign.objects.create(name="-1+1")
    )
    export = client_of(viewer).get(EXPORT, {"month": "2026-03", "group": "campaign"})
    header, first, total = csv.reader(io.StringIO(export.content.decode()))
    assert (first[0], first[header.index("Net spend")]) == ("'-1+1", "2.00000")


def test_sandbox_orders_show_on_the_page_and_in_the_csv_only_when_included_and_carry_the_mark(
    viewer, service
):
    an_order(service, OrderStatus.COMPLETED, "2.00", charge="2.00")
    an_order(
        PlainServiceFactory(provider=Provider.objects.get(name="Sandbox")),
        OrderStatus.COMPLETED,
        "30.00",
        charge="30.00",
    )
    client, query = client_of(viewer), {"month": "2026-03", "group": "provider"}

    page = client.get(URL, query).content.decode()
    assert [row[0] for row in table_rows(page)[1:]] == ["Alpha", "Total"]
    assert 'name="sandbox" value="1" id="id_sandbox"' in page and "Sandbox — no real money" not in page
    header, *lines = csv.reader(io.StringIO(client.get(EXPORT, query).content.decode()))
    assert [line[0] for line in lines] == ["Alpha", "Total"]

    page = client.get(URL, {**query, "sandbox": "1"}).content.decode()
    assert [row[0] for row in table_rows(page)[1:]] == ["Sandbox Sandbox — no real money", "Alpha", "Total"]
    assert '<span class="badge sandbox">Sandbox — no real money</span> orders included' in page
    header, *lines = csv.reader(io.StringIO(client.get(EXPORT, {**query, "sandbox": "1"}).content.decode()))
    assert [line[0] for line in lines] == ["Sandbox (Sandbox — no real money)", "Alpha", "Total"]


def test_the_csv_follows_the_same_filters_and_grouping(viewer, march):
    export = client_of(viewer).get(EXPORT, {"month": "2026-03", "group": "provider", "status": "failed"})
    header, *lines = list(csv.reader(io.StringIO(export.content.decode())))
    assert header[0] == "Provider" and "Monthly budget" not in header
    assert lines == [
        ["Alpha", "USD", "1", "0.00000", "4.00000", "4.00000", "0.00000", "0", "0", "1", "0", "0"],
        ["Total", "USD", "1", "0.00000", "4.00000", "4.00000", "0.00000", "0", "0", "1", "0", "0"],
    ]


def test_this_month_by_campaign_is_the_default(viewer, service):
    spring = Campaign.objects.create(name="Spring")
    order = an_order(service, OrderStatus.COMPLETED, "2.00", campaign=spring)
    order.created_at = timezone.now()
    order.save()
    page = client_of(viewer).get(URL).content.decode()
    assert f'value="{timezone.localdate():%Y-%m}"' in page
    assert [row[0] for row in table_rows(page)] == ["Campaign", "Spring", "Total"]


def test_a_control_change_from_htmx_gets_only_the_report(viewer, march):
    response = client_of(viewer, **{"HX-Request": "true"}).get(URL, {"month": "2026-03", "group": "person"})
    body = response.content.decode()
    assert "<html" not in body and 'id="report"' in body
    assert [row[0] for row in table_rows(body)] == ["Person", "No person (account removed)", "Total"] * 2
    assert "HX-Request" in response["Vary"]


def test_an_empty_period_says_so_in_words(viewer, march):
    page = client_of(viewer).get(URL, {"month": "2026-11"}).content.decode()
    assert "No orders in November 2026" in page
    ranged = client_of(viewer).get(URL, {"since": "2026-04-02", "until": "2026-04-09"}).content.decode()
    assert "No orders from 2 Apr 2026 to 9 Apr 2026" in ranged


def test_a_date_range_replaces_the_month(viewer, march):
    page = client_of(viewer).get(URL, {"month": "2026-11", "since": "2026-03-01", "until": "2026-03-30"})
    text = page.content.decode()
    assert "From 1 Mar 2026 to 30 Mar 2026" in text
    summer = next(row for row in table_rows(text) if row[0] == "Summer")
    assert summer[:6] == ["Summer", "2", "1.10", "4.00", "4.00", "1.10"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"since": "2026-03-10", "until": "2026-03-01"},
            "The range ends on 1 Mar 2026, before it starts on 10 Mar 2026.",
        ),
        ({"until": "2026-03-01"}, "Give the first day of the range too"),
        ({"since": "2026-02-30"}, "Enter a valid date."),
        ({"month": "2026-13"}, "Pick a month, such as 2026-11."),
        ({"group": "colour"}, "Select a valid choice."),
        ({"provider": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_controls_get_a_message_on_the_form_not_an_error_page(viewer, query, message):
    client = client_of(viewer)
    for url in (URL, EXPORT):
        response = client.get(url, query)
        assert response.status_code == 200
        body = response.content.decode()
        assert message in body.replace("&#x27;", "'")
        assert "correct the fields marked above" in body
        assert not response["Content-Type"].startswith("text/csv")


def test_a_campaign_over_its_budget_is_marked(viewer, service):
    tight = Campaign.objects.create(name="Tight", monthly_budget=Decimal("1.00"))
    an_order(service, OrderStatus.COMPLETED, "1.50", campaign=tight)
    page = client_of(viewer).get(URL, {"month": "2026-03"}).content.decode()
    assert '<td class="num over">150.0%</td>' in page


def test_the_charts_are_inline_svg_without_styles_or_scripts(viewer, march):
    page = client_of(viewer).get(URL, {"month": "2026-03"}).content.decode()
    assert page.count('<figure class="report-chart bars">') == 2
    assert page.count('<figure class="report-chart line">') == 2
    assert "<title>Spring: 18.91667 USD</title>" in page
    assert "style=" not in page and "<script>" not in page


def test_the_number_of_queries_does_not_grow_with_the_number_of_groups(
    viewer, provider, django_assert_max_num_queries
):
    client, query = client_of(viewer), {"month": "2026-03"}
    an_order(PlainServiceFactory(provider=provider), campaign=Campaign.objects.create(name="Only"))
    few = {}
    for url in (URL, EXPORT):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, query).status_code == 200
        few[url] = len(queries)
    for n in range(30):
        campaign = Campaign.objects.create(name=f"Campaign {n:02}", monthly_budget=Decimal("10"))
        an_order(PlainServiceFactory(provider=a_provider(f"Provider{n}")), campaign=campaign)
    for url in (URL, EXPORT):
        with django_assert_max_num_queries(few[url]):
            response = client.get(url, query)
        assert response.content.decode().count("Campaign 2") >= 10


@pytest.mark.parametrize("group", ["campaign", "person", "provider", "platform", "category"])
def test_every_grouping_of_the_page_costs_the_same_few_queries(
    viewer, march, group, django_assert_max_num_queries
):
    client = client_of(viewer)
    # Session (read, and saved on every request: 3), user, two for permissions, the report, the
    # daily line, the two filter selects; on PostgreSQL the report's own transaction for its
    # work_mem (begin or savepoint, SET LOCAL, commit or release) adds 3.
    with django_assert_max_num_queries(11 + (3 if connection.vendor == "postgresql" else 0)):
        assert client.get(URL, {"month": "2026-03", "group": group}).status_code == 200


def test_a_viewer_sees_reports_and_a_person_without_a_role_does_not(viewer, march):
    outsider = person("outsider")
    assert client_of(viewer).get(URL).status_code == 200
    assert client_of(outsider).get(URL).status_code == 403
    assert client_of(outsider).get(EXPORT).status_code == 403
    dashboard = client_of(viewer).get(reverse("dashboard")).content.decode()
    assert f'href="{URL}"' in dashboard
