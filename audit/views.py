from __future__ import annotations

import json
from collections.abc import Iterator

from django import forms
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.models import AuditAction, AuditEntry
from jappanel.web.access import allowed
from jappanel.web.csv import csv_response
from jappanel.web.filters import day_start
from jappanel.web.htmx import render_page

PAGE_SIZE = 50
CSV_COLUMNS = ("at", "action", "who", "ip", "target_type", "target_id", "target", "before", "after", "note")


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditAction.choices])
    person = forms.ModelChoiceField(required=False, queryset=get_user_model().objects.order_by("username"))
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    q = forms.CharField(required=False, max_length=200)


def audit_entries(form: AuditFilterForm) -> QuerySet[AuditEntry]:
    """The entries matching the filters (an invalid filter is ignored), newest first."""
    entries = AuditEntry.objects.select_related("actor")
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("action"):
        entries = entries.filter(action=data["action"])
    if data.get("person"):
        entries = entries.filter(actor=data["person"])
    if data.get("since"):
        entries = entries.filter(at__gte=day_start(data["since"]))
    if data.get("until"):
        entries = entries.filter(at__lt=day_start(data["until"]) + timezone.timedelta(days=1))
    if query := (data.get("q") or "").strip():
        entries = entries.filter(
            Q(target_label__icontains=query) | Q(note__icontains=query) | Q(actor_name__iexact=query)
        )
    return entries.order_by("-at", "-id")


@require_GET
@allowed("view_audit")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = Paginator(audit_entries(form), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "actions": AuditAction.choices}
    return render_page(request, "audit/audit_list.html", "table", context)


def _csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[object]]:
    for entry in entries.iterator(chunk_size=2000):
        yield [
            entry.at.isoformat(),
            entry.action,
            entry.who,
            entry.ip or "",
            entry.target_type,
            entry.target_id,
            entry.target_label,
            "" if entry.before is None else json.dumps(entry.before, sort_keys=True),
            "" if entry.after is None else json.dumps(entry.after, sort_keys=True),
            entry.note,
        ]


@require_GET
@allowed("view_audit")
def audit_export(request: HttpRequest) -> HttpResponseBase:
    entries = audit_entries(AuditFilterForm(request.GET))
    return csv_response(filename="audit.csv", header=CSV_COLUMNS, rows=_csv_rows(entries))
