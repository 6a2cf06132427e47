from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from grants import views as grant_views

urlpatterns = [
    path("", grant_views.home, name="home"),
    path("konto/anmelden/", auth_views.LoginView.as_view(), name="login"),
    path("konto/abmelden/", auth_views.LogoutView.as_view(), name="logout"),
    path("schreiben/<int:pk>/", grant_views.letter_download, name="letter-download"),
    path("schreiben/stapel/<int:pk>/", grant_views.letter_batch_detail, name="letter-batch"),
    path("arbeitsplatz/", include("config.workspace_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
