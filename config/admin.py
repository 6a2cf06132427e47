"""The admin site behind the second factor (django-otp's OTPAdminSite), entered through the site's login."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class AdminSite(OTPAdminSite):
    """Only users confirmed by a TOTP code get in (OTPAdminSite.has_permission).

    The admin's own login form is not offered to visitors who are not logged in: they log in at
    the site's login, which asks for the password and then the code (config.middleware), and come back.
    """

    def __init__(self, name="admin"):
        super().__init__(name)

    def login(self, request, extra_context=None):
        if not request.user.is_authenticated:
            target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect_to_login(target, settings.LOGIN_URL)
        return super().login(request, extra_context)
