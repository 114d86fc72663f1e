"""What django-axes records about a login attempt."""

from django.conf import settings


def attempt_username(request, credentials: dict | None) -> str | None:
    """The username tried, cut to django-axes' column (255 characters): Django's login forms do not limit
    what reaches ``authenticate()``, and a longer name was a database error (a 500) on PostgreSQL."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else request.POST.get(field)
    return username[:255] if isinstance(username, str) else username
