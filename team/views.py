from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import client_ip
from jappanel.access import allowed
from orders.services.budgets import budget_spent
from team.forms import CampaignForm
from team.models import Campaign
from team.services import campaign_save


@require_GET
@allowed("manage_campaigns")
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(Campaign.objects.annotate(order_count=Count("orders")))
    month = timezone.localdate()
    for campaign in campaigns:
        campaign.spent = budget_spent(campaign=campaign, month=month, currency=campaign.currency)
    return render(request, "team/campaign_list.html", {"campaigns": campaigns})


@require_http_methods(["GET", "POST"])
@allowed("manage_campaigns")
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk) if pk is not None else Campaign()
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        campaign_save(campaign=form.instance, user=request.user, ip=client_ip(request))
        return redirect("team:campaign_list")
    return render(request, "team/campaign_form.html", {"form": form, "campaign": campaign})
