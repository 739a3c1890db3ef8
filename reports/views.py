from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jappanel.web.access import allowed
from jappanel.web.csv import csv_response
from jappanel.web.htmx import render_page
from reports.forms import ReportForm
from reports.services import Report, report_build, report_csv_rows

TEMPLATE = "reports/report_page.html"


def _report(request: HttpRequest, *, daily: bool) -> tuple[ReportForm, Report | None]:
    """The controls from the query string, and the report they ask for (None when invalid)."""
    form = ReportForm(request.GET)
    return form, report_build(**form.report_arguments(), daily=daily) if form.is_valid() else None


@require_GET
@allowed("view_reports")
def report_page(request: HttpRequest) -> HttpResponse:
    form, report = _report(request, daily=True)
    context: dict[str, Any] = {"form": form, "report": report}
    # A control changed: only the results, unless htmx restores history or follows a boost.
    return render_page(request, TEMPLATE, "results", context)


@require_GET
@allowed("view_reports")
def report_export(request: HttpRequest) -> HttpResponseBase:
    """The table of the page with the same query string, as CSV; the page with its message if
    the controls do not validate."""
    form, report = _report(request, daily=False)
    if report is None:
        return render(request, TEMPLATE, {"form": form, "report": None})
    header, *rows = report_csv_rows(report)
    return csv_response(filename=f"report-{report.start}-{report.end}.csv", header=header, rows=rows)
