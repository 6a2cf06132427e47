from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin, served by config.admin.AdminSite (behind the second factor)."""

    default_site = "config.admin.AdminSite"
