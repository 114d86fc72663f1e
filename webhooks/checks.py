"""A deploy check: webhooks to private addresses (or over plain http) are for tests and the demo only."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def webhook_targets_check(app_configs=None, **kwargs) -> list[Warning]:
    warnings = []
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        warnings.append(
            Warning(
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS is on: customers' webhooks may reach private, loopback and "
                "link-local addresses — this server's own network (SSRF).",
                hint="Leave WEBHOOKS_ALLOW_PRIVATE_TARGETS unset in production: it is for tests and demos.",
                id="webhooks.W001",
            )
        )
    if settings.WEBHOOKS_ALLOW_HTTP:
        warnings.append(
            Warning(
                "WEBHOOKS_ALLOW_HTTP is on: webhooks may be sent unencrypted.",
                hint="Leave WEBHOOKS_ALLOW_HTTP unset in production.",
                id="webhooks.W002",
            )
        )
    return warnings
