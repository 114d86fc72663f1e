"""The console's look from the panel's branding (read by django-unfold's UNFOLD settings on each page): the
name, the logo, the favicon and the accent colour the Owner set for the storefront."""

from django.templatetags.static import static
from django.urls import reverse

from content.branding import branding_current

# Unfold draws with a palette of eleven shades of its primary colour; each is the accent mixed with white
# (the light shades) or black (the dark ones), so any accent the Owner picks gives a readable palette.
_SHADES = {
    "50": ("white", 8),
    "100": ("white", 16),
    "200": ("white", 30),
    "300": ("white", 50),
    "400": ("white", 75),
    "500": ("white", 90),
    "600": (None, 100),
    "700": ("black", 85),
    "800": ("black", 70),
    "900": ("black", 55),
    "950": ("black", 40),
}


def site_title(request) -> str:
    return branding_current().panel_name


def site_header(request) -> str:
    return branding_current().panel_name


def site_logo(request) -> str | None:
    brand = branding_current()
    return reverse("content:brand-logo", args=[brand.logo_version]) if brand.has_logo else None


def favicon(request) -> str:
    return f"{reverse('content:favicon')}?v={branding_current().favicon_version or 'default'}"


def stylesheet(request) -> str:
    """The console's own classes (its pages, and the admin's flags): a file, as the CSP bars inline styles."""
    return static("console/console.css")


def primary_colours(request) -> dict[str, str]:
    accent = branding_current().accent_colour  # #rrggbb, validated when saved
    return {
        shade: accent if other is None else f"color-mix(in oklch, {accent} {share}%, {other})"
        for shade, (other, share) in _SHADES.items()
    }
