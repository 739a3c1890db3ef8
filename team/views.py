from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import client_ip
from catalog.models import Scorecard
from jappanel.web.access import ROLES, allowed
from jappanel.web.htmx import render_page
from orders.services.common import ZERO
from orders.services.spend import spent_by
from providers.client import ProviderError
from providers.forms import ProviderForm
from providers.models import Provider
from providers.services import provider_refresh_balance, provider_save
from team.forms import BudgetForm, CampaignForm, PersonCreateForm, PersonEditForm, add_service_errors
from team.models import Budget, Campaign
from team.navigation import tabs_for
from team.services import (
    SUPERUSER,
    BudgetUse,
    PersonInvalid,
    budget_save,
    campaign_save,
    person_create,
    person_role,
    person_update,
    team_currency,
)

PAGE_SIZE = 50


@require_GET
def team_index(request: HttpRequest) -> HttpResponse:
    """The nav's "Team": the first team page the person may use."""
    tabs = tabs_for(request.user)
    if not tabs:
        raise PermissionDenied
    return redirect(tabs[0].url_name)


# Campaigns --------------------------------------------------------------------------------------


@require_GET
@allowed("manage_campaigns")
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(Campaign.objects.annotate(order_count=Count("orders")))
    spent = spent_by(scope="campaign", month=timezone.localdate(), keys=[c.pk for c in campaigns])
    for campaign in campaigns:
        campaign.spent = spent.get((campaign.pk, campaign.currency), ZERO)
    return render(request, "team/campaign_list.html", {"campaigns": campaigns})


@require_http_methods(["GET", "POST"])
@allowed("manage_campaigns")
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk) if pk is not None else Campaign()
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        campaign_save(
            campaign=form.instance,
            members=form.cleaned_data["members"],
            user=request.user,
            ip=client_ip(request),
        )
        return redirect("team:campaign_list")
    return render(request, "team/campaign_form.html", {"form": form, "campaign": campaign})


# People -----------------------------------------------------------------------------------------


def _people(role: str, query: str) -> QuerySet:
    people = get_user_model().objects.select_related("budget").prefetch_related("groups")
    if role == "superuser":
        people = people.filter(is_superuser=True)
    elif role == "none":
        people = people.filter(is_superuser=False).exclude(groups__name__in=ROLES)
    elif role in ROLES:
        people = people.filter(is_superuser=False, groups__name=role)
    if query:
        people = people.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
    return people.distinct().order_by("-is_active", "username")


def _with_use(person: Any, spent: dict[tuple[int, str], Decimal], currency: str) -> Any:
    budget = getattr(person, "budget", None)
    person.role = SUPERUSER if person.is_superuser else person_role(person)
    if budget is not None:
        currency = budget.currency
    amount = budget.amount if budget is not None else None
    person.use = BudgetUse(amount=amount, currency=currency, spent=spent.get((person.pk, currency), ZERO))
    return person


@require_GET
@allowed("manage_people")
def person_list(request: HttpRequest) -> HttpResponse:
    role, query = request.GET.get("role", ""), request.GET.get("q", "").strip()
    page = Paginator(_people(role, query), PAGE_SIZE).get_page(request.GET.get("page"))
    people = list(page.object_list)
    spent = spent_by(scope="user", month=timezone.localdate(), keys=[person.pk for person in people])
    currency = team_currency()
    for person in people:
        _with_use(person, spent, currency)
    context = {"page": page, "role": role, "q": query, "roles": list(ROLES), "superuser": SUPERUSER}
    return render_page(request, "team/person_list.html", "table", context)


@require_http_methods(["GET", "POST"])
@allowed("manage_people")
def person_add(request: HttpRequest) -> HttpResponse:
    form = PersonCreateForm(request.POST or None, initial={"currency": team_currency()}, request=request)
    if request.method == "POST" and form.is_valid():
        try:
            person = person_create(**form.cleaned_data, user=request.user, ip=client_ip(request))
        except PersonInvalid as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{person.get_username()} was added as {form.cleaned_data['role']}.")
            return redirect("team:person_list")
    return render(request, "team/person_form.html", {"form": form, "person": None})


@require_http_methods(["GET", "POST"])
@allowed("manage_people")
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=pk)
    form = PersonEditForm(request.POST or None, person=person, role=person_role(person), request=request)
    if request.method == "POST" and not person.is_superuser and form.is_valid():
        try:
            person_update(person=person, **form.cleaned_data, user=request.user, ip=client_ip(request))
        except PersonInvalid as exc:
            add_service_errors(form, exc)
        else:
            if person.pk == request.user.pk:
                update_session_auth_hash(request, person)  # a new password of one's own: stay signed in
            messages.success(request, f"{person.get_username()} was saved.")
            return redirect("team:person_list")
    is_self = person.pk == request.user.pk
    context = {"form": form, "person": person, "superuser": SUPERUSER, "is_self": is_self}
    return render(request, "team/person_form.html", context)


# Budgets ----------------------------------------------------------------------------------------


@require_GET
@allowed("manage_budgets")
def budget_list(request: HttpRequest) -> HttpResponse:
    month = timezone.localdate()
    budgets = list(Budget.objects.select_related("user", "provider"))
    spent = {
        "user": spent_by(scope="user", month=month, keys=[b.user_id for b in budgets if b.user_id]),
        "provider": spent_by(
            scope="provider", month=month, keys=[b.provider_id for b in budgets if b.provider_id]
        ),
    }
    rows = [(budget, _use(budget, spent)) for budget in budgets]
    context = {
        "people": [row for row in rows if row[0].user_id],
        "providers": [row for row in rows if row[0].provider_id],
        "campaigns": Campaign.objects.filter(active=True, monthly_budget__isnull=False).count(),
        "month": month,
    }
    return render(request, "team/budget_list.html", context)


def _use(budget: Budget, spent: dict[str, dict[tuple[int, str], Decimal]]) -> BudgetUse:
    scope, key = ("user", budget.user_id) if budget.user_id else ("provider", budget.provider_id)
    used = spent[scope].get((key, budget.currency), ZERO)
    return BudgetUse(amount=budget.amount, currency=budget.currency, spent=used)


@require_http_methods(["GET", "POST"])
@allowed("manage_budgets")
def budget_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    budget = get_object_or_404(Budget.objects.select_related("user", "provider"), pk=pk) if pk else Budget()
    # A new one: for the person or provider the link named (?user= / ?provider=), if any.
    initial = (
        {}
        if pk
        else {
            "currency": team_currency(),
            "user": request.GET.get("user"),
            "provider": request.GET.get("provider"),
        }
    )
    form = BudgetForm(request.POST or None, instance=budget, initial=initial)
    if request.method == "POST" and form.is_valid():
        budget_save(budget=form.instance, user=request.user, ip=client_ip(request))
        messages.success(request, f"{form.instance} is now {form.instance.amount} {form.instance.currency}.")
        return redirect("team:budget_list")
    return render(request, "team/budget_form.html", {"form": form, "budget": budget})


# Providers --------------------------------------------------------------------------------------


@require_GET
@allowed("manage_providers")
def provider_list(request: HttpRequest) -> HttpResponse:
    providers = _with_records(list(Provider.objects.order_by("-active", "name")))
    return render(request, "team/provider_list.html", {"providers": providers})


def _with_records(providers: list[Provider]) -> list[Provider]:
    """Each provider with its recent record (`record`: its Scorecard, or None without orders)."""
    cards = Scorecard.objects.filter(
        provider__in=providers, service__isnull=True, days=Scorecard.RELIABILITY_DAYS
    )
    records = {card.provider_id: card for card in cards}
    for provider in providers:
        provider.record = records.get(provider.pk)
    return providers


@require_http_methods(["GET", "POST"])
@allowed("manage_providers")
def provider_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    provider = get_object_or_404(Provider, pk=pk) if pk is not None else Provider()
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        api_key = form.cleaned_data["api_key"]
        provider_save(provider=form.instance, api_key=api_key, user=request.user, ip=client_ip(request))
        messages.success(request, f"{provider.name} was saved.")
        return redirect("team:provider_list")
    return render(request, "team/provider_form.html", {"form": form, "provider": provider})


@require_POST
@allowed("manage_providers")
def provider_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask the panel for the balance now; a failure is a message, never an error page."""
    provider = get_object_or_404(Provider, pk=pk)
    try:
        balance = provider_refresh_balance(provider=provider)
    except ProviderError as exc:
        level, text = messages.ERROR, f"{provider.name}: the balance could not be read: {exc}"
    else:
        level, text = messages.SUCCESS, f"{provider.name}: balance {balance.amount} {balance.currency}."
    if request.htmx:
        provider.refresh_from_db()
        context = {"provider": _with_records([provider])[0], "note": {"level": level, "text": text}}
        return render(request, "team/provider_list.html#provider-row", context)
    messages.add_message(request, level, text)
    return redirect("team:provider_list")
