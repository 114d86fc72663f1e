"""Helpers for order tests: the fields of every order type, pick a published service, fill its form, let the
simulator finish."""

from catalogue.models import Service
from orders.models import Order
from orders.services import order_place, orders_sync_statuses

# The add fields of every order type (DOMAIN §2), as a customer would fill them.
FIELDS_BY_TYPE = {
    "Default": {"link": "https://instagram.com/p/abc", "quantity": 100},
    "Package": {"link": "https://instagram.com/p/abc"},
    "Custom Comments": {"link": "https://instagram.com/p/abc", "comments": "Great!\r\nLove it\nWow"},
    "Custom Comments Package": {"link": "https://instagram.com/p/abc", "comments": "one\ntwo"},
    "Subscriptions": {
        "username": "someone",
        "min": 100,
        "max": 110,
        "posts": 5,
        "old_posts": 2,
        "delay": 30,
        "expiry": "31/12/2030",
    },
    "Comment Likes": {"link": "https://instagram.com/p/abc", "quantity": 100, "username": "commenter"},
    "Comment Replies": {"link": "https://instagram.com/p/abc", "username": "commenter", "comments": "a\nb"},
    "Invites from Groups": {
        "link": "https://t.me/mygroup",
        "quantity": 100,
        "groups": "https://t.me/g1\nhttps://t.me/g2",
    },
    "Mentions User Followers": {
        "link": "https://instagram.com/p/abc",
        "quantity": 100,
        "username": "https://instagram.com/star",
    },
    "Poll": {"link": "https://t.me/c/1/2", "quantity": 100, "answer_number": 2},
    "Mentions": {"link": "https://instagram.com/p/abc", "quantity": 100, "usernames": "a\nb"},
    "Mentions with Hashtags": {
        "link": "https://instagram.com/p/abc",
        "quantity": 100,
        "usernames": "a\nb",
        "hashtags": "#x\n#y",
    },
    "Mentions Custom List": {"link": "https://instagram.com/p/abc", "usernames": "a\nb\nc"},
    "Mentions Hashtag": {"link": "https://instagram.com/p/abc", "quantity": 100, "hashtag": "#tag"},
    "Mentions Media Likers": {
        "link": "https://instagram.com/p/abc",
        "quantity": 100,
        "media": "https://instagram.com/p/xyz",
    },
    "SEO": {"link": "https://example.com", "quantity": 100, "keywords": "smm panel\nbuy followers"},
}


LINE_FIELDS = {
    "Custom Comments": "comments",
    "Custom Comments Package": "comments",
    "Comment Replies": "comments",
    "Mentions Custom List": "usernames",
}


def service_of(provider, type_name, **flags):
    return Service.objects.filter(provider_service__provider=provider, type=type_name, **flags).first()


def data_for(service, link="https://x.example/post"):
    data = dict(FIELDS_BY_TYPE[service.type])
    if "link" in data:
        data["link"] = link
    if "quantity" in data:
        data["quantity"] = str(service.min_quantity)
    if service.type in LINE_FIELDS:
        data[LINE_FIELDS[service.type]] = "\n".join(f"line {n}" for n in range(service.min_quantity))
    if service.type == "Subscriptions":
        data.update(
            {"min": str(service.min_quantity), "max": str(service.min_quantity), "posts": "2", "delay": "0"}
        )
        data.pop("expiry")
        data.pop("old_posts")
    return data


def orders_placed(customer, provider, count, tag):
    """``count`` orders of ``customer`` for ``provider``'s first Default service, placed as the storefront
    does (each kicks the provider's dispatcher on commit), their links told apart by ``tag``."""
    service = Service.objects.filter(provider_service__provider=provider, type="Default").first()
    return [
        order_place(
            user=customer, service=service, data=data_for(service, link=f"https://x.example/{tag}{n}")
        )
        for n in range(count)
    ]


def settle(server, provider, order, steps=6):
    for _ in range(steps):
        server.sim.advance()
        orders_sync_statuses(provider=provider)
        order.refresh_from_db()
        if order.status in Order.states.final:
            break
    return order
