"""The console's admin site: django-unfold's, with the sidebar drawn from console/navigation.py."""

from django.contrib.admin.apps import AdminConfig
from django.utils.functional import lazy
from unfold.sites import UnfoldAdminSite


class ConsoleSite(UnfoldAdminSite):
    def get_app_list(self, request, app_label=None):
        """Built when read: Django's ``each_context`` builds the whole app list on every admin page for its
        default sidebar (permission checks and URLs for each of ~50 models, a sixth of a change page's time),
        and the console's sidebar is console/navigation.py's, so most pages never read it."""
        return lazy(super().get_app_list, list)(request, app_label)


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with the console's site as ``admin.site`` (in INSTALLED_APPS in its place)."""

    default_site = "console.sites.ConsoleSite"
