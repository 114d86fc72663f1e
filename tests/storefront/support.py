"""Helpers for the storefront tests."""

from storefront.submissions import TOKEN_FIELD, submission_token_new


def rendered(data: dict) -> dict:
    """``data`` as a freshly rendered form sends it: with the form's one-time submission token."""
    return {TOKEN_FIELD: submission_token_new(), **data}
