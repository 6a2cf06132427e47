from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path

from grants import views as grant_views
from portal import views as portal_views

urlpatterns = [
    path("", portal_views.programmes, name="home"),
    # django-allauth: German addresses for the pages everyone sees, the rest under its own names.
    path("konto/anmelden/", account_views.login, name="login"),
    path("konto/abmelden/", account_views.logout, name="logout"),
    path("konto/registrieren/", account_views.signup, name="signup"),
    path("konto/", include("allauth.urls")),
    path("meine-antraege/", include("portal.urls")),
    path("schreiben/<int:pk>/", grant_views.letter_download, name="letter-download"),
    path("schreiben/stapel/<int:pk>/", grant_views.letter_batch_detail, name="letter-batch"),
    path("arbeitsplatz/", include("config.workspace_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
