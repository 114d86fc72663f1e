"""Helpers of the language tests."""

from django.utils import translation


def said(code: str, text: str, context: str = "") -> str:
    """``text`` as the ``code`` catalogue says it; it must be translated (a test expecting it fails on a
    string left in English)."""
    with translation.override(code):
        translated = translation.pgettext(context, text) if context else translation.gettext(text)
    assert translated != text, f"{text!r} is not translated into {code}"
    return translated
