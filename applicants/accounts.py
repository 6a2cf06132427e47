"""django-allauth hooks: who a self-registered account is, and who must confirm an address first."""

from __future__ import annotations

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import Role


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Everyone who registers on the site is an applicant (owner); staff are made by the municipality."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user.groups.add(Group.objects.get_or_create(name=Role.APPLICANT)[0])
        return user

    def get_email_verification_redirect_url(self, email_address):
        return reverse("portal:applications")

    def get_signup_redirect_url(self, request):
        return reverse("portal:applications")

    def get_login_redirect_url(self, request):
        user = request.user
        if user.is_authenticated and user.is_municipal_staff:
            return reverse("workspace:start")
        return reverse("portal:applications")


class LoginForm(AllauthLoginForm):
    """Log in with e-mail address or user name.

    Self-registered owners must have confirmed their address (ACCOUNT_EMAIL_VERIFICATION is
    mandatory). Accounts the municipality made itself (staff, demo logins, the admin) were never
    registered through allauth and have no address row; they log in without a confirmation.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("E-Mail-Adresse oder Benutzername")
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)

    def clean(self):
        cleaned = super().clean()
        login = getattr(self, "_login", None)
        if login is not None and not EmailAddress.objects.filter(user_id=login.user.pk).exists():
            login.email_verification = app_settings.EmailVerificationMethod.NONE
        return cleaned
