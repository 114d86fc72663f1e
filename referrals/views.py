"""The referral link and the customer's referrals page. Thin: the services decide."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from referrals.cookie import referral_code_of, referral_cookie_set
from referrals.selectors import affiliate_figures
from referrals.services import affiliate_for, commission_percent, payout_request, referral_visit


@require_GET
def referral_link(request, code: str):
    response = redirect("storefront:home")
    # A browser that already carries this link's cookie is one visitor, however often it comes back.
    if referral_code_of(request) == code:
        return response
    if referral_visit(code=code, visitor=request.user) is not None:
        referral_cookie_set(response, code)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def referrals(request):
    affiliate = affiliate_for(request.user)
    if request.method == "POST":
        try:
            payout = payout_request(user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if payout.status == payout.Status.PAID:
                messages.success(request, _("%(amount)s moved to your balance.") % {"amount": payout.amount})
            else:
                messages.success(request, _("Payout requested: we move it to your balance once approved."))
        return redirect("referrals")
    context = {
        "affiliate": affiliate,
        "link": request.build_absolute_uri(reverse("referral-link", args=[affiliate.code])),
        "figures": affiliate_figures(affiliate),
        "payouts": affiliate.payouts.all()[:20],
        "entries": affiliate.entries.select_related("topup")[:20],
        "minimum": settings.REFERRAL_PAYOUT_MINIMUM,
        "needs_approval": settings.REFERRAL_PAYOUTS_NEED_APPROVAL,
        "percent": commission_percent(affiliate),
        "currency": settings.PANEL_CURRENCY,
    }
    return render(request, "storefront/referrals.html", context)
