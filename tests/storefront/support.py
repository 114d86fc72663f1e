"""Helpers for the storefront tests."""

from urllib.parse import urlencode

from storefront.submissions import TOKEN_FIELD, submission_token_new


def rendered(data: dict) -> dict:
    """``data`` as a freshly rendered form sends it: with the form's one-time submission token."""
    return {TOKEN_FIELD: submission_token_new(), **data}


def notify(client, processor: str, fields: dict, **options):
    """Post ``fields`` to ``processor``'s notification endpoint form-encoded, as a browser's form (the
    sandbox's page) sends them; the endpoint reads the raw body, as signatures are over it."""
    return client.post(
        f"/funds/callback/{processor}/",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        **options,
    )
