from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from applicants import views as applicant_views
from applicants.api import ApplicantViewSet, ObtainTokenView, PropertyViewSet
from budgets.api import AllocationViewSet, LedgerEntryViewSet
from core.api import ID
from grants import views as grant_views
from grants.api import (
    ApplicationViewSet,
    DeminimisRegisterViewSet,
    DocumentViewSet,
    HistoryViewSet,
    LetterViewSet,
    ProgrammeViewSet,
)
from payments.api import PaymentRunViewSet
from portal import views as portal_views
from reports.api import StatementViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("programmes", ProgrammeViewSet, basename="programme")
router.register("allocations", AllocationViewSet, basename="allocation")
router.register("ledger", LedgerEntryViewSet, basename="ledger-entry")
router.register("statements", StatementViewSet, basename="statement")
router.register("payment-runs", PaymentRunViewSet, basename="payment-run")
router.register("applicants", ApplicantViewSet, basename="applicant")
router.register("properties", PropertyViewSet, basename="property")
router.register("applications", ApplicationViewSet, basename="application")
router.register("deminimis-register", DeminimisRegisterViewSet, basename="deminimis-register")
router.register(rf"applications/(?P<application_pk>{ID})/documents", DocumentViewSet, basename="application-document")
router.register(rf"applications/(?P<application_pk>{ID})/history", HistoryViewSet, basename="application-history")
router.register(rf"applications/(?P<application_pk>{ID})/letters", LetterViewSet, basename="application-letter")

handler400 = "core.api.bad_request"
handler404 = "core.api.not_found"
handler500 = "core.api.server_error"

urlpatterns = [
    path("", portal_views.programmes, name="home"),
    # django-allauth: German addresses for the pages everyone sees, the rest under its own names.
    path("konto/anmelden/", account_views.login, name="login"),
    path("konto/abmelden/", account_views.logout, name="logout"),
    path("konto/registrieren/", account_views.signup, name="signup"),
    path("konto/zweiter-faktor/", applicant_views.second_factor, name="second_factor"),
    path("konto/zweiter-faktor/einrichten/", applicant_views.second_factor_setup, name="second_factor_setup"),
    path("konto/", include("allauth.urls")),
    path("meine-antraege/", include("portal.urls")),
    path("schreiben/<int:pk>/", grant_views.letter_download, name="letter-download"),
    path("schreiben/stapel/<int:pk>/", grant_views.letter_batch_detail, name="letter-batch"),
    path("arbeitsplatz/", include("config.workspace_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads Swagger UI's start script from a URL instead of inline, as the CSP demands.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/", include(router.urls)),
]
