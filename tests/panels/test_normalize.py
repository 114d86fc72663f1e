from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from panels.normalize import (
    BadValue,
    OrderStatus,
    RefillStatus,
    normalize_api_url,
    order_status,
    refill_status,
    service_type,
    to_decimal,
    to_flag,
    to_id,
    to_int,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.90", Decimal("0.90")),
        (0.9, Decimal("0.9")),
        (8, Decimal(8)),
        ("100.84292", Decimal("100.84292")),
        ("1,234.5", Decimal("1234.5")),
        ("-1,234,567", Decimal("-1234567")),
        (" 3 ", Decimal(3)),
        ("", None),
        (None, None),
        (True, None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
    ],
)
def test_to_decimal_reads_every_shape_providers_send(value, expected):
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", ["1,5", "0,90", "1,23", "12,3456", ",5", "1,,234", "1.234,5"])
def test_a_decimal_comma_is_unreadable_not_a_figure_ten_times_larger(value):
    """Read with its comma dropped, a European "1,5" (1.5) would cost, charge or count 15."""
    assert to_decimal(value) is None and to_int(value) is None


def test_to_decimal_never_goes_through_binary_floats():
    # str(0.1) is "0.1"; Decimal(0.1) would be 0.1000000000000000055511151231257827…
    assert to_decimal(0.1) == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3572", 3572), (3572, 3572), ("3572.0", 3572), ("", None), (None, None), ("0", 0), ("-12", -12)],
)
def test_to_int(value, expected):
    assert to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        ("true", True),
        (None, False),
    ],
)
def test_to_flag_treats_missing_as_false(value, expected):
    assert to_flag(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (23501, "23501"),
        ("23501", "23501"),
        ("ord_01HGXYZ", "ord_01HGXYZ"),
        (12.0, "12"),
        (None, None),
        ("", None),
    ],
)
def test_ids_are_always_strings(value, expected):
    assert to_id(value) == expected


@pytest.mark.parametrize(
    "value",
    ["x" * 65, "12 34", "12\n34", "1,2", "a\x00b", 1.5, 1e30, float("nan"), " \t "],
    ids=[
        "longer-than-its-column",
        "space",
        "newline",
        "comma",
        "control",
        "fraction",
        "float-beyond-2^53",
        "nan",
        "blank",
    ],
)
def test_what_cannot_be_sent_back_as_an_id_is_not_one(value):
    assert to_id(value) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("In progress", OrderStatus.IN_PROGRESS),
        ("Inprogress", OrderStatus.IN_PROGRESS),
        ("in-progress", OrderStatus.IN_PROGRESS),
        ("Processing", OrderStatus.PROCESSING),
        ("COMPLETE", OrderStatus.COMPLETED),
        ("Completed", OrderStatus.COMPLETED),
        ("Cancelled", OrderStatus.CANCELED),
        ("Canceled", OrderStatus.CANCELED),
        ("Refunded", OrderStatus.REFUNDED),
        ("Fail", OrderStatus.FAILED),
        ("Partial", OrderStatus.PARTIAL),
        ("Error", OrderStatus.UNKNOWN),
        ("Something new", OrderStatus.UNKNOWN),
        ("", OrderStatus.UNKNOWN),
    ],
)
def test_status_spellings_fold_to_canonical(raw, expected):
    assert order_status(raw) is expected


def test_unknown_and_open_statuses_are_never_final():
    assert not OrderStatus.UNKNOWN.is_final
    assert not OrderStatus.IN_PROGRESS.is_final
    assert OrderStatus.PARTIAL.is_final
    assert OrderStatus.CANCELED.is_final


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Completed", RefillStatus.COMPLETED),
        ("Rejected", RefillStatus.REJECTED),
        ("In progress", RefillStatus.IN_PROGRESS),
        ("Refill not found", RefillStatus.NOT_FOUND),
        ("??", RefillStatus.UNKNOWN),
    ],
)
def test_refill_statuses(raw, expected):
    assert refill_status(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("default", "Default"),
        ("Custom Comments", "Custom Comments"),
        ("custom_comments", "Custom Comments"),
        ("Invites From Groups", "Invites from Groups"),
        ("", "Default"),
        ("Brand New Type", "Brand New Type"),
    ],
)
def test_service_types(raw, expected):
    assert service_type(raw) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://smmcloud.uk", "https://smmcloud.uk/api/v2"),
        ("https://smmcloud.uk/", "https://smmcloud.uk/api/v2"),
        ("https://smmcloud.uk/api/v2", "https://smmcloud.uk/api/v2"),
        ("https://smmcloud.uk/api/v2/", "https://smmcloud.uk/api/v2"),
        ("HTTPS://smmcool.com/api", "https://smmcool.com/api/v2"),
        ("http://127.0.0.1:8701", "http://127.0.0.1:8701/api/v2"),
        ("https://panel.example/api.php", "https://panel.example/api.php"),
    ],
)
def test_api_url_with_or_without_api_v2(url, expected):
    assert normalize_api_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        *["smmcloud.uk", "ftp://x.example", "https://", "", "javascript:alert(1)", "file:///etc/passwd"],
        *["https://user:secret@x.example/api/v2", "https://x.example:99999", "https://x.example:abc"],
        *["https://x.example/api/v2\x00", "https://x.example/a b", "https://x.example/a\nb"],
    ],
)
def test_bad_api_urls_are_refused(url):
    with pytest.raises(BadValue):
        normalize_api_url(url)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9))
def test_decimal_round_trips_through_its_string(number):
    assert to_decimal(str(number)) == number


@pytest.mark.parametrize("value", ["\u0661\u0660", "\uff11\uff10", "1_000", "\u00b2"])
def test_figures_in_anything_but_ascii_digits_are_unreadable_not_guessed(value):
    assert to_decimal(value) is None and to_int(value) is None
