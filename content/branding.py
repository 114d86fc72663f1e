"""The panel's branding as pages and mails use it: read once and cached (no query on most requests), forgotten
when the Owner saves it; and the checks an uploaded logo or favicon passes, by its content, not its name."""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError

CACHE_KEY = "content:branding:v1"
DEFAULT_NAME = "Reseller panel"
IMAGE_MAX_BYTES = 512 * 1024

# What an image's first bytes say it is. SVG is refused: it is a document that may carry scripts, and
# cleaning it safely is a project of its own; a raster logo covers what panels show.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_ICON = (b"\x00\x00\x01\x00", "image/x-icon")


@dataclass(frozen=True)
class Brand:
    """What the storefront, the console and the mails show (no image bytes: those are served by their views,
    at addresses that change with the image, so browsers may keep them for long)."""

    panel_name: str = DEFAULT_NAME
    accent_colour: str = "#0b5cad"
    background_colour: str = "#ffffff"
    footer_text: str = ""
    logo_version: str = ""
    favicon_version: str = ""
    version: str = "default"

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_version)


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16] if data else ""


def branding_current() -> Brand:
    """The branding now: from the cache, else from the row (or the defaults while the Owner set none)."""
    brand = cache.get(CACHE_KEY)
    if brand is None:
        from content.models import Branding

        row = Branding.objects.filter(pk=1).first()
        brand = Brand() if row is None else _brand_of(row)
        cache.set(CACHE_KEY, brand, timeout=None)
    return brand


def _brand_of(row) -> Brand:
    logo, favicon = bytes(row.logo_image or b""), bytes(row.favicon_image or b"")
    return Brand(
        panel_name=row.panel_name,
        accent_colour=row.accent_colour.lower(),
        background_colour=row.background_colour.lower(),
        footer_text=row.footer_text,
        logo_version=_version(logo),
        favicon_version=_version(favicon),
        version=f"{row.updated_at:%Y%m%d%H%M%S%f}",
    )


def branding_forget() -> None:
    cache.delete(CACHE_KEY)


def image_checked(upload, *, icon: bool = False) -> tuple[bytes, str]:
    """The uploaded image's bytes and type, when its content is a PNG, JPEG or GIF image (or, for ``icon``,
    an ICO); a ``ValidationError`` otherwise — whatever its name or the type the browser claimed."""
    data = upload.read(IMAGE_MAX_BYTES + 1)
    if len(data) > IMAGE_MAX_BYTES:
        raise ValidationError("The image is larger than %(kb)s KB.", params={"kb": IMAGE_MAX_BYTES // 1024})
    signatures = (*_SIGNATURES, _ICON) if icon else _SIGNATURES
    for signature, content_type in signatures:
        if data.startswith(signature) and len(data) > len(signature) + 8:
            return data, content_type
    if data[:12].startswith(b"RIFF") and data[8:12] == b"WEBP":
        return data, "image/webp"
    if b"<svg" in data[:1024].lower():
        raise ValidationError("SVG images are refused: they may carry scripts. Upload a PNG, JPEG or WebP.")
    kinds = "PNG, JPEG, GIF, WebP" + (" or ICO" if icon else "")
    raise ValidationError("This is not an image the panel shows (%(kinds)s).", params={"kinds": kinds})


def image_described(upload, data: bytes, content_type: str) -> str:
    """The image as the console and the audit trail show it: name, type, size and a digest."""
    return f"{upload.name[:80]} ({content_type}, {len(data)} bytes, sha256 {_version(data)})"


def branding_row():
    """The one row, made with the defaults on first use (the console lists it to open)."""
    from content.models import Branding

    row, _created = Branding.objects.get_or_create(pk=1)
    return row
