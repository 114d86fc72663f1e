"""Production cannot let webhooks reach private addresses (or go out unencrypted) without being told so."""

from tests.production import manage

PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 30 + "-a-long-random-production-secret-0123456789",
    "DJANGO_ALLOWED_HOSTS": "panel.example.com",
}


def test_check_deploy_warns_when_private_targets_or_http_are_allowed():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOKS_ALLOW_HTTP="true",
        **PRODUCTION,
    )
    assert result.returncode != 0
    assert "webhooks.W001" in result.stderr + result.stdout
    assert "webhooks.W002" in result.stderr + result.stdout
