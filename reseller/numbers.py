"""Whole numbers typed by people and programs: the ASCII digits 0-9 and nothing else.

Python's ``int()`` and ``Decimal()`` also read Arabic-Indic and full-width digits, ``"1_000"`` and numbers
wrapped in any Unicode space, and the ``\\d`` of ``re`` matches superscripts that ``int()`` then refuses.
A number must read the same here, at the provider and in the customer's eyes, so every numeric field
(order quantities, drip-feed runs, subscription posts, ids in the APIs…) is read by ``whole_number``.
"""

import re
from decimal import Decimal

from django.utils.translation import gettext_lazy

_ASCII_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_AROUND = " \t"  # what may surround the digits: what a keyboard types, not U+00A0 or U+3000
MAX_DIGITS = 18  # always within a 64-bit integer column


def whole_number(text: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """``text`` as a whole number (0 or more) when it is written with ASCII digits only, spaces or tabs
    around allowed; None for anything else (signs, decimals, separators, other scripts' digits)."""
    if not isinstance(text, str):
        return None
    text = text.strip(_AROUND)
    # isdigit() alone takes superscripts and other scripts' digits: with isascii(), exactly [0-9]+.
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > max_digits:
        return None
    return int(text)


def decimal_number(text: str, *, max_digits: int = 40) -> Decimal | None:
    """``text`` as a Decimal when it is written as people write amounts: ASCII digits, a sign and a decimal
    point at most, spaces or tabs around allowed; None for anything else — ``NaN``, ``Infinity``, ``1e5``,
    ``1_000``, ``1,5``, other scripts' digits — which ``Decimal()`` reads (or half reads) without a word.
    The caller checks the range, e.g. with the model field's ``clean``."""
    if not isinstance(text, str):
        return None
    text = text.strip(_AROUND)
    if not _ASCII_DECIMAL.fullmatch(text) or sum(char.isdigit() for char in text) > max_digits:
        return None
    return Decimal(text)


def digits_written_oddly(text: str) -> bool:
    """True when ``text`` holds digits but also something outside ASCII (digits of another script,
    superscripts, full-width forms, no-break or ideographic spaces) or ``_`` between digits: worth telling
    the writer to use 0-9 rather than only that it is not a number."""
    has_digits = any(char.isnumeric() for char in text)
    return has_digits and (not text.isascii() or bool(re.search(r"[0-9]_[0-9]", text)))


DIGITS_ONLY = gettext_lazy("Write it with the digits 0-9 only.")
