"""DRF's browsable API (the REST API's HTML pages, for a customer signed in on the website) under the panel's
Content-Security-Policy."""

from csp.constants import UNSAFE_HASHES
from csp.decorators import csp_update
from rest_framework import renderers

# DRF's page floats its Filters and Extra actions buttons with this inline style attribute, admitted by its
# hash alone; its code style sheet carries the nonce (templates/rest_framework/api.html).
DRF_BUTTON_STYLE = "'sha256-OfgyIBrd+/vP79JdFMYP+re4T+fIenvkrHPD2HZ8/cs='"  # float: right; margin-right: 10px


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        page = super().render(data, accepted_media_type, renderer_context)
        response = renderer_context["response"]
        csp_update({"style-src": [UNSAFE_HASHES, DRF_BUTTON_STYLE]})(lambda: response)()
        return page
