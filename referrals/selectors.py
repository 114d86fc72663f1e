"""Reads of referrals: an affiliate's figures (the customer's page) and the affiliates with theirs (the
console), each in a few queries."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import TopUp
from billing.money import MONEY_FIELD, to_money
from referrals.models import Affiliate, AffiliateEntry, Referral

E = AffiliateEntry.Kind
# A sign-up counts once its email is confirmed (a waiting one may never be).
CONFIRMED = ~Q(referred__is_active=False, referred__profile__awaiting_confirmation=True)
# A referral pays once a deposit of theirs was credited (and counts even if it was later taken back).
PAYING = Q(referred__topups__status__in=[TopUp.Status.CREDITED, TopUp.Status.REVERSED])
EARNED = Q(kind__in=[E.COMMISSION, E.REVERSAL])


@dataclass(frozen=True)
class AffiliateFigures:
    visits: int
    sign_ups: int
    paying: int
    earned: Decimal  # commissions less what was taken back
    available: Decimal  # the affiliate balance: earned less payouts (asked for, or paid)

    @property
    def conversion(self) -> Decimal | None:
        """Paying referrals per hundred visits; None before the first visit."""
        if not self.visits:
            return None
        return (Decimal(self.paying) * 100 / self.visits).quantize(Decimal("0.1"))


def affiliate_figures(affiliate: Affiliate) -> AffiliateFigures:
    referrals = Referral.objects.filter(referrer=affiliate)
    return AffiliateFigures(
        visits=affiliate.visits.aggregate(total=Sum("count"))["total"] or 0,
        sign_ups=referrals.filter(CONFIRMED).count(),
        paying=referrals.filter(PAYING).values("referred").distinct().count(),
        earned=to_money(affiliate.entries.filter(EARNED).aggregate(total=Sum("amount"))["total"] or 0),
        available=affiliate.balance,
    )


def affiliates_with_figures() -> QuerySet[Affiliate]:
    """Affiliates annotated with ``referral_count``, ``paying_count`` and ``earned`` (subqueries: joining
    referrals, top-ups and entries at once would multiply the rows they count)."""
    money = DecimalField(**MONEY_FIELD)
    referrals = Referral.objects.filter(referrer=OuterRef("pk")).order_by().values("referrer")
    earned = AffiliateEntry.objects.filter(EARNED, affiliate=OuterRef("pk")).order_by().values("affiliate")
    return Affiliate.objects.annotate(
        referral_count=Coalesce(Subquery(referrals.filter(CONFIRMED).annotate(n=Count("pk")).values("n")), 0),
        paying_count=Coalesce(
            Subquery(referrals.filter(PAYING).annotate(n=Count("referred", distinct=True)).values("n")), 0
        ),
        earned=Coalesce(
            Subquery(earned.annotate(total=Sum("amount")).values("total")), Value(0), output_field=money
        ),
    )
