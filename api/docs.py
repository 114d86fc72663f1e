"""The REST API's documentation pages (drf-spectacular, assets from drf-spectacular-sidecar), under the
panel's Content-Security-Policy: no inline script, nothing loaded from another host."""

from csp.decorators import csp_update
from django.utils.functional import lazy
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from content.branding import branding_current


def api_title() -> str:
    """The API's name in its schema and pages: the panel's as the Owner branded it, read when shown."""
    return f"{branding_current().panel_name} REST API"


def schema_branded(result, generator, request, public):
    """drf-spectacular's postprocessing hook: the schema a panel serves says ``api_title``. One made without a
    request (``manage.py spectacular``, the API fuzzer's collection) is the software's: TITLE, no database."""
    if request is not None:
        result["info"]["title"] = api_title()
    return result


# Evaluated as each page renders, so a new name shows without a restart.
TITLE = lazy(api_title, str)()

# Swagger UI's start-up script is served from ?script rather than inline.
swagger_ui = SpectacularSwaggerSplitView.as_view(
    url_name="api:schema", template_name="api/swagger_ui.html", title=TITLE
)

# ReDoc's bundle injects the stylesheet of its scroll bars (perfect-scrollbar) while it loads, before the
# nonce reaches it (the nonce styles everything it renders): that sheet is admitted by its hash, and the empty
# element it starts as by the hash of nothing. A new ReDoc in the sidecar may change the first:
# tests/test_content_security_policy.py says so.
REDOC_LOAD_TIME_STYLES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # ""
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS
]
redoc = csp_update({"style-src": REDOC_LOAD_TIME_STYLES})(
    SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html", title=TITLE)
)
