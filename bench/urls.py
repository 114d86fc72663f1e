from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from reseller.urls import urlpatterns as panel_urls


@csrf_exempt
def bare(request):
    """The floor: Django answering a POST with a small JSON body and nothing else."""
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *panel_urls]
