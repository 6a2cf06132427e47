"""The site's language (German unless the person picked another), and the second factor for staff."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin

from applicants.rules import lacks_second_factor


class ChosenLanguageMiddleware(MiddlewareMixin):
    """Like Django's LocaleMiddleware, but the browser's Accept-Language is not consulted.

    A German authority's site speaks German; with an English browser Django would switch to
    English number and date formats around text that is mostly German. English is a choice
    made with the switch in the header (Django's set_language stores it in a cookie).
    """

    def process_request(self, request):
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if code not in dict(settings.LANGUAGES):
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Cookie",))
        return response


class SecondFactorMiddleware:
    """Staff finish their login with the second factor before they see any page (issue 9).

    After the password, a municipal staff member or administrator whose session is not yet
    confirmed by a TOTP code (django-otp's middleware runs first and marks it) is sent to the
    code page, or to set up an authenticator app when they have none, and comes back to where
    they wanted to go. Owners are never asked. Only the code pages, logging out and the language
    switch stay open; under /api/ the API's own session authentication refuses instead
    (config.api_auth), because a token there is a credential issued after the second factor.
    """

    OPEN_PREFIXES = ("/api/", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if lacks_second_factor(request.user) and not self._open(request.path_info):
            return redirect_to_login(request.get_full_path(), reverse("second_factor"))
        return self.get_response(request)

    def _open(self, path: str) -> bool:
        if path.startswith(self.OPEN_PREFIXES):
            return True
        return path in {reverse("second_factor"), reverse("second_factor_setup"), reverse("logout")}
