"""The site's language: German unless the person picked another one with the language switch."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin


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
