"""Every order type's fields, validation messages and charge (no database needed)."""

import re
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from orders.order_types import MAX_CHARGE, MAX_POSTS, ORDER_TYPES, dripfeed_allowed, lines, order_spec

D = Decimal
FUTURE = (date.today() + timedelta(days=30)).strftime("%d/%m/%Y")


def service(
    type_name="Default", low=10, high=1000, dripfeed=True, override="", provider_setting="documented"
):
    """``dripfeed``: what the provider's catalogue says (None: nothing); ``override``: the storefront
    service's switch ("", "on", "off"); ``provider_setting``: the provider's drip-feed choice."""
    return SimpleNamespace(
        type=type_name,
        min_quantity=low,
        max_quantity=high,
        dripfeed=override,
        provider_service=SimpleNamespace(
            dripfeed=dripfeed, provider=SimpleNamespace(dripfeed=provider_setting)
        ),
    )


def errors(type_name, data, **kwargs):
    with pytest.raises(ValidationError) as caught:
        order_spec(service=service(type_name, **kwargs), data=data, price=D("2"))
    return caught.value.message_dict


LINK = "https://instagram.com/p/abc"


@pytest.mark.parametrize(
    ("type_name", "data", "units", "charge", "sent"),
    [
        ("Default", {"link": LINK, "quantity": "500"}, 500, D("1"), {"link": LINK, "quantity": "500"}),
        (
            "Default",
            {"link": LINK, "quantity": "100", "runs": "5", "interval": "30"},
            500,
            D("1"),
            {"link": LINK, "quantity": "100", "runs": "5", "interval": "30"},
        ),
        ("Package", {"link": LINK, "quantity": "999"}, 1, D("2"), {"link": LINK}),
        (
            "Custom Comments",
            {"link": LINK, "comments": "a\r\nb\n\n c \n" * 5},
            15,
            D("0.03"),
            {"link": LINK, "comments": "\n".join(["a", "b", "c"] * 5)},
        ),
        (
            "Custom Comments Package",
            {"link": LINK, "comments": "one\ntwo"},
            1,
            D("2"),
            {"link": LINK, "comments": "one\ntwo"},
        ),
        (
            "Comment Likes",
            {"link": LINK, "quantity": "50", "username": "bob"},
            50,
            D("0.1"),
            {"link": LINK, "quantity": "50", "username": "bob"},
        ),
        (
            "Comment Replies",
            {"link": LINK, "username": "bob", "comments": "\n".join("x" * 12)},
            12,
            D("0.024"),
            {"link": LINK, "username": "bob", "comments": "\n".join("x" * 12)},
        ),
        (
            "Invites from Groups",
            {"link": LINK, "quantity": "100", "groups": "g1\ng2"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "groups": "g1\ng2"},
        ),
        (
            "Mentions User Followers",
            {"link": LINK, "quantity": "100", "username": "https://instagram.com/star"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "username": "https://instagram.com/star"},
        ),
        (
            "Poll",
            {"link": LINK, "quantity": "100", "answer_number": "3"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "answer_number": "3"},
        ),
        (
            "Mentions",
            {"link": LINK, "quantity": "100", "usernames": "a\nb"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "usernames": "a\nb"},
        ),
        (
            "Mentions with Hashtags",
            {"link": LINK, "quantity": "100", "usernames": "a", "hashtags": "#x"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "usernames": "a", "hashtags": "#x"},
        ),
        (
            "Mentions Custom List",
            {"link": LINK, "usernames": "\n".join("u" * 20)},
            20,
            D("0.04"),
            {"link": LINK, "usernames": "\n".join("u" * 20)},
        ),
        (
            "Mentions Hashtag",
            {"link": LINK, "quantity": "100", "hashtag": "#tag"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "hashtag": "#tag"},
        ),
        (
            "Mentions Media Likers",
            {"link": LINK, "quantity": "100", "media": LINK + "x"},
            100,
            D("0.2"),
            {"link": LINK, "quantity": "100", "media": LINK + "x"},
        ),
        (
            "SEO",
            {"link": "https://example.com", "quantity": "100", "keywords": "smm\npanel"},
            100,
            D("0.2"),
            {"link": "https://example.com", "quantity": "100", "keywords": "smm\npanel"},
        ),
        (
            "Subscriptions",
            {"username": "star", "min": "100", "max": "200", "posts": "4", "delay": "30", "expiry": FUTURE},
            800,
            D("1.6"),
            {"username": "star", "min": "100", "max": "200", "posts": "4", "delay": "30", "expiry": FUTURE},
        ),
    ],
)
def test_fields_units_and_charge_of_every_type(type_name, data, units, charge, sent):
    spec = order_spec(service=service(type_name), data=data, price=D("2"))
    assert (spec.units, spec.charge, spec.fields) == (units, charge, sent)


def test_every_domain_type_is_covered():
    assert len(ORDER_TYPES) == 16


def test_subscription_without_posts_buys_the_default(settings):
    settings.SUBSCRIPTION_DEFAULT_POSTS = 10
    spec = order_spec(
        service=service("Subscriptions"),
        data={"username": "s", "min": "10", "max": "20", "delay": "0", "old_posts": "2"},
        price=D("1"),
    )
    assert spec.fields["posts"] == "10"
    assert spec.fields["old_posts"] == "2"
    assert spec.units == 20 * 12


@pytest.mark.parametrize(
    ("type_name", "data", "expected"),
    [
        ("Default", {}, {"link": "This field is required.", "quantity": "This field is required."}),
        (
            "Default",
            {"link": "instagram.com/p", "quantity": "100"},
            {"link": "Enter a full link starting with http:// or https://."},
        ),
        ("Default", {"link": LINK, "quantity": "5"}, {"quantity": "The minimum is 10."}),
        ("Default", {"link": LINK, "quantity": "5000"}, {"quantity": "The maximum is 1000."}),
        ("Default", {"link": LINK, "quantity": "1.5"}, {"quantity": "Enter a whole number."}),
        ("Default", {"link": LINK, "quantity": "-3"}, {"quantity": "Enter a whole number."}),
        (
            "Default",
            {"link": LINK, "quantity": "100", "runs": "1", "interval": "0"},
            {
                "runs": "Runs must be a whole number from 2 to 1000.",
                "interval": "Interval must be a whole number of minutes from 1 to 10080.",
            },
        ),
        (
            "Custom Comments",
            {"link": LINK, "comments": "only\nthree\nlines"},
            {"comments": "The minimum is 10 lines."},
        ),
        (
            "Poll",
            {"link": LINK, "quantity": "100", "answer_number": "first"},
            {"answer_number": "Give the number of the answer (1, 2, 3, …)."},
        ),
        (
            "Subscriptions",
            {"username": "s", "min": "300", "max": "200", "delay": "7", "expiry": "2030-01-01"},
            {
                "max": "Max must be at least min.",
                "delay": "Delay must be one of 0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600 minutes.",
                "expiry": "Expiry must be a date written d/m/Y, e.g. 31/12/2026.",
            },
        ),
        (
            "Subscriptions",
            {"username": "s", "min": "10", "max": "20", "delay": "0", "expiry": "01/01/2020"},
            {"expiry": "Expiry must be in the future."},
        ),
    ],
)
def test_each_mistake_gets_its_own_message(type_name, data, expected):
    assert errors(type_name, data) == {field: [message] for field, message in expected.items()}


def test_drip_feed_only_where_the_provider_allows_it():
    assert errors(
        "Default", {"link": LINK, "quantity": "100", "runs": "3", "interval": "5"}, dripfeed=False
    ) == {"runs": ["This service cannot be drip-fed."]}


@pytest.mark.parametrize(
    ("type_name", "stated", "override", "provider_setting", "allowed"),
    [
        # Not stated (the seed documents never state it): Default services accept runs/interval...
        ("Default", None, "", "documented", True),
        # ...unless the operator says "never" for the provider,
        ("Default", None, "", "never", False),
        # and only Default: the documents give runs/interval to no other type.
        ("Comment Likes", None, "", "documented", False),
        ("Package", None, "", "documented", False),
        # The provider's explicit answer wins over its setting...
        ("Default", False, "", "documented", False),
        ("Default", True, "", "never", True),
        ("Comment Likes", True, "", "documented", True),
        # ...and the storefront service's switch wins over everything.
        ("Default", False, "on", "never", True),
        ("Default", True, "off", "documented", False),
        ("Default", None, "off", "documented", False),
        # Runs multiply a quantity: a package or a comment list has none, whatever the switch says.
        ("Package", True, "on", "documented", False),
        ("Custom Comments", True, "on", "documented", False),
    ],
)
def test_who_decides_whether_a_service_can_be_drip_fed(
    type_name, stated, override, provider_setting, allowed
):
    offered = service(type_name, dripfeed=stated, override=override, provider_setting=provider_setting)
    assert dripfeed_allowed(offered) is allowed


def test_drip_feed_when_the_provider_does_not_say():
    data = {"link": LINK, "quantity": "100", "runs": "3", "interval": "5"}
    spec = order_spec(service=service(dripfeed=None), data=data, price=D("2"))
    assert (spec.runs, spec.units, spec.fields["runs"], spec.fields["interval"]) == (3, 300, "3", "5")
    assert errors("Default", data, dripfeed=None, override="off") == {
        "runs": ["This service cannot be drip-fed."]
    }
    assert errors("Default", data, dripfeed=None, provider_setting="never") == {
        "runs": ["This service cannot be drip-fed."]
    }


def test_an_order_too_small_to_charge_is_refused():
    with pytest.raises(ValidationError, match="too small"):
        order_spec(service=service(low=1), data={"link": LINK, "quantity": "1"}, price=D("0.01"))


def test_unknown_types_are_refused():
    assert "not supported" in errors("Telepathy", {})["service"][0]


# --- one definition of a line: what is charged is what is sent ----------------------------------------

# Every boundary str.splitlines() knows; a provider may split on any of them.
BOUNDARIES = ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
COUNTED = [
    ("Custom Comments", "comments"),
    ("Comment Replies", "comments"),
    ("Mentions Custom List", "usernames"),
]


@pytest.mark.parametrize(("type_name", "field"), COUNTED)
def test_every_line_boundary_is_a_line_and_the_lines_are_sent_joined_by_newlines(type_name, field):
    words = [f"word{n}" for n in range(len(BOUNDARIES) + 1)]
    text = "".join(word + boundary for word, boundary in zip(words, [*BOUNDARIES, ""], strict=True))
    # Blank, spaces-only and invisible-only lines are no lines.
    text += "\n\n  \t \n\u200b\n\u00a0\u3000\n"
    data = {"link": LINK, "username": "bob", field: text}

    spec = order_spec(service=service(type_name, low=1), data=data, price=D("1000"))

    assert spec.units == len(words) == 12
    assert spec.fields[field] == "\n".join(words)
    assert spec.charge == D("12")


@given(
    text=st.lists(st.sampled_from([*BOUNDARIES, "a", "b", " ", "\t", "\u200b", "é"]), max_size=60).map(
        "".join
    )
)
def test_any_provider_counts_exactly_the_lines_charged(text):
    """Whatever was typed, the text sent counts the same number of lines however a provider splits it."""
    try:
        spec = order_spec(
            service=service("Custom Comments", low=1, high=10**6),
            data={"link": LINK, "comments": text},
            price=D("1"),
        )
    except ValidationError:
        assert lines(text) == []  # refused only for having no line at all
        return
    sent = spec.fields["comments"]
    assert spec.units == len(sent.splitlines()) == len(sent.split("\n")) == len(re.split(r"\r?\n", sent))
    assert all(line.strip() and line == line.strip() for line in sent.split("\n"))


# --- numbers: ASCII digits only ----------------------------------------------------------------------

NOT_ASCII_DIGITS = [
    "\u0663",
    "\u00b2",
    "\uff11\uff12",
    "1_000",
    "\u00a0100",
    "100\u3000",
    "\u0661\u0662\u0660",
]
NOT_NUMBERS = ["+100", "1e3", "100.0", "0x10", "ten", "1 000"]
SUBSCRIPTION = {"username": "s", "min": "10", "max": "20", "delay": "0"}


@pytest.mark.parametrize("typed", NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    ("type_name", "field", "data"),
    [
        ("Default", "quantity", {"link": LINK}),
        ("Default", "runs", {"link": LINK, "quantity": "100", "interval": "5"}),
        ("Default", "interval", {"link": LINK, "quantity": "100", "runs": "5"}),
        ("Poll", "answer_number", {"link": LINK, "quantity": "100"}),
        ("Subscriptions", "min", SUBSCRIPTION),
        ("Subscriptions", "max", SUBSCRIPTION),
        ("Subscriptions", "posts", SUBSCRIPTION),
        ("Subscriptions", "old_posts", SUBSCRIPTION),
        ("Subscriptions", "delay", SUBSCRIPTION),
    ],
)
def test_numbers_in_other_scripts_are_refused_with_how_to_write_them(type_name, field, data, typed):
    assert errors(type_name, {**data, field: typed}) == {field: ["Write it with the digits 0-9 only."]}


@pytest.mark.parametrize("typed", NOT_NUMBERS)
def test_what_is_not_a_whole_number_is_refused(typed):
    assert errors("Default", {"link": LINK, "quantity": typed}) == {"quantity": ["Enter a whole number."]}


def test_ascii_spaces_around_a_number_are_fine_and_the_number_is_sent_plainly():
    spec = order_spec(
        service=service(),
        data={"link": LINK, "quantity": " 0100\t", "runs": "02", "interval": " 5"},
        price=D("2"),
    )
    assert spec.fields == {"link": LINK, "quantity": "100", "runs": "2", "interval": "5"}


def test_expiry_is_read_in_ascii_digits_and_sent_as_d_m_y():
    future = date.today() + timedelta(days=400)
    arabic = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    written = f"{future.day}/{future.month}/{future.year}"
    assert errors("Subscriptions", {**SUBSCRIPTION, "expiry": written.translate(arabic)}) == {
        "expiry": ["Expiry must be a date written d/m/Y, e.g. 31/12/2026."]
    }
    spec = order_spec(
        service=service("Subscriptions"), data={**SUBSCRIPTION, "expiry": written}, price=D("1")
    )
    assert spec.fields["expiry"] == future.strftime("%d/%m/%Y")


# --- bounds: checked before anything is written ---------------------------------------------------------


def test_posts_beyond_the_bound_are_a_field_error():
    assert errors("Subscriptions", {**SUBSCRIPTION, "posts": "999999999999"}) == {
        "posts": [f"Posts must be a whole number from 1 to {MAX_POSTS}."]
    }
    assert errors("Subscriptions", {**SUBSCRIPTION, "old_posts": "999999999999"}) == {
        "old_posts": [f"Old posts must be a whole number from 0 to {MAX_POSTS}."]
    }


@pytest.mark.parametrize(
    ("type_name", "field", "data", "price"),
    [
        ("Default", "quantity", {"link": LINK, "quantity": "999999999999"}, "2000"),
        (
            "Default",
            "quantity",
            {"link": LINK, "quantity": "999999999999", "runs": "1000", "interval": "1"},
            "2",
        ),
        ("Subscriptions", "max", {**SUBSCRIPTION, "max": "999999999999", "posts": str(MAX_POSTS)}, "2"),
        ("Mentions Custom List", "usernames", {"link": LINK, "usernames": "u\n" * 5000}, "999999999999"),
    ],
)
def test_a_charge_the_columns_cannot_hold_is_a_field_error(type_name, field, data, price):
    with pytest.raises(ValidationError) as caught:
        order_spec(service=service(type_name, low=1, high=10**15), data=data, price=D(price))
    assert caught.value.message_dict == {
        field: [f"This order is too large: one order costs at most {MAX_CHARGE}; order less."]
    }


def test_numbers_longer_than_any_count_are_refused_without_reading_them():
    assert errors("Default", {"link": LINK, "quantity": "9" * 5000}) == {
        "quantity": ["Enter a whole number."]
    }
