"""Helpers for the tests that drive a real browser (the ``chromium`` and ``browser_page`` fixtures)."""

import os
from pathlib import Path

from django.conf import settings

# The README's screenshots are refreshed on demand (SCREENSHOTS=docs/screenshots bin/test …), so that an
# ordinary test run leaves the checkout as it was; otherwise they land under var/.
SCREENSHOTS = Path(settings.BASE_DIR) / os.environ.get("SCREENSHOTS", "var/screenshots")


def shoot(page, name: str) -> None:
    """Save the whole page as <SCREENSHOTS>/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
