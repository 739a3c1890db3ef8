from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from jappanel.web.access import ROLES, password_confirmed
from providers.models import Provider
from team.models import MONEY, Budget, Campaign
from team.services import PersonInvalid

MAX_NOTES = 2_000
# No default: a role is chosen on purpose (an empty choice is "This field is required.").
ROLE_CHOICES = [("", "Choose a role"), *((name, name) for name in ROLES)]


class CampaignForm(forms.ModelForm):
    """A campaign as managers create and edit it, with who may order for it."""

    notes = forms.CharField(required=False, max_length=MAX_NOTES, widget=forms.Textarea(attrs={"rows": 3}))
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who may order for it when it is for its members only.",
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "client",
            "starts_on",
            "ends_on",
            "monthly_budget",
            "currency",
            "approval_threshold",
            "members_only",
            "members",
            "notes",
            "auto_refill_every_days",
            "active",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Active people, and members who have left since (so that they can be taken off).
        people = get_user_model().objects.filter(is_active=True)
        if self.instance.pk:
            people = people | get_user_model().objects.filter(campaigns=self.instance)
        self.fields["members"].queryset = people.distinct().order_by("username")

    def clean(self) -> dict:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The campaign ends before it starts.")
        if cleaned.get("members_only") and not cleaned.get("members"):
            self.add_error("members", "Choose at least one member, or open the campaign to everyone.")
        return cleaned


def add_service_errors(form: forms.Form, exc: PersonInvalid) -> None:
    """Put a service's refusal on the form: under its field, else above the form."""
    for name, message in exc.errors.items():
        form.add_error(name if name in form.fields else None, message)


def _password_field(label: str, *, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


def _validate_password(form: forms.Form, password: str, person: Any) -> None:
    # With the person's names and email: the similarity validator compares the password to them.
    try:
        password_validation.validate_password(password, user=person)
    except ValidationError as exc:
        form.add_error("password", exc)


class PersonForm(forms.Form):
    """What a manager sets of a person: names, email and one role.

    Setting a password or a role asks for the manager's own password again (`your_password`,
    checked through the sign-in lockout), so that a session left open cannot hand out access.
    """

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, help_text="What the person may do; exactly one role.")
    your_password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
        help_text="Setting a password or a role asks for your own password again.",
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def sets_password_or_role(self, cleaned: dict[str, Any]) -> bool:
        return True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Only the check needs it: the services never see it.
        password = cleaned.pop("your_password", "")
        if self.sets_password_or_role(cleaned) and not password_confirmed(self.request, password):
            self.add_error(
                "your_password",
                "Enter your own password to set a password or a role."
                if not password
                else "That is not your password.",
            )
        return cleaned


class PersonCreateForm(PersonForm):
    """A new person: a username, an initial password (Django's password validators), a budget."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @/./+/-/_ only; used to sign in.",
    )
    password = _password_field(
        "Initial password", required=True, help_text="The person can change it after signing in."
    )
    budget = forms.DecimalField(
        label="Monthly budget", required=False, min_value=0, help_text="Empty: no personal limit.", **MONEY
    )
    currency = forms.CharField(max_length=10, initial="USD")

    field_order = [
        "username",
        "first_name",
        "last_name",
        "email",
        "role",
        "password",
        "budget",
        "currency",
        "your_password",
    ]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError("A person with this username already exists.")
        return username

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password"):
            fields = ("username", "first_name", "last_name", "email")
            draft = get_user_model()(**{name: cleaned.get(name) or "" for name in fields})
            _validate_password(self, cleaned["password"], draft)
        return cleaned


class PersonEditForm(PersonForm):
    """An existing person: also whether they may sign in, and optionally a new password."""

    active = forms.BooleanField(
        required=False, help_text="Untick to deactivate: the person can no longer sign in. Nobody is deleted."
    )
    password = _password_field(
        "New password", required=False, help_text="Leave empty to keep the current password."
    )

    field_order = ["first_name", "last_name", "email", "role", "active", "password", "your_password"]

    def __init__(self, *args: Any, person: Any, role: str | None, **kwargs: Any) -> None:
        initial = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "role": role,
            "active": person.is_active,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.person = person

    def sets_password_or_role(self, cleaned: dict[str, Any]) -> bool:
        return bool(cleaned.get("password")) or cleaned.get("role") != self.initial["role"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password"):
            draft = get_user_model()(
                pk=self.person.pk,
                username=self.person.username,
                **{name: cleaned.get(name) or "" for name in ("first_name", "last_name", "email")},
            )
            _validate_password(self, cleaned["password"], draft)
        return cleaned


class BudgetForm(forms.ModelForm):
    """A person's monthly budget or a provider's team cap; the scope is chosen once, at creation.

    The scope fields are the form's own (not the model's), so that "choose one" is our sentence
    rather than the model constraint's.
    """

    user = forms.ModelChoiceField(
        label="Person",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="—",
        help_text="A person's own monthly limit…",
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(),
        required=False,
        empty_label="—",
        help_text="…or the whole team's monthly limit with one provider.",
    )
    amount = forms.DecimalField(label="Monthly amount", min_value=0, **MONEY)

    class Meta:
        model = Budget
        fields = ["amount", "currency"]

    field_order = ["user", "provider", "amount", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["user"], self.fields["provider"]
            return
        # One budget per person or provider: only those without one yet can get one here.
        people = get_user_model().objects.filter(is_active=True, budget__isnull=True)
        self.fields["user"].queryset = people.order_by("username")
        self.fields["provider"].queryset = Provider.objects.filter(budget__isnull=True)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance.pk:
            if self.errors.keys() & {"user", "provider"}:
                return cleaned
            self.instance.user, self.instance.provider = cleaned.get("user"), cleaned.get("provider")
            if (self.instance.user is None) == (self.instance.provider is None):
                raise ValidationError("Choose either a person or a provider.")
        provider, currency = self.instance.provider, cleaned.get("currency")
        if provider is not None and currency and currency != provider.currency:
            # Orders with a provider are in its currency: a cap in another one would refuse them all.
            self.add_error("currency", f"{provider.name} bills in {provider.currency}: set the cap in it.")
        return cleaned
