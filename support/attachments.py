"""What a file attached to a ticket may be: an image (PNG, JPEG, GIF, WebP) or a PDF, known by its first
bytes — never by its name or the Content-Type the browser sent, both of which the sender chooses — and no
bigger than ``SUPPORT_ATTACHMENT_MAX_BYTES``."""

from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str


PNG = FileType("image/png", "png")
JPEG = FileType("image/jpeg", "jpg")
GIF = FileType("image/gif", "gif")
WEBP = FileType("image/webp", "webp")
PDF = FileType("application/pdf", "pdf")

# The bytes each type's files start with (a WebP is a RIFF file whose form type is WEBP).
SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"%PDF-", PDF),
]


def sniffed(head: bytes) -> FileType | None:
    """The type ``head`` (a file's first bytes) shows, or None for anything else."""
    for signature, file_type in SIGNATURES:
        if head.startswith(signature):
            return file_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def attachment_checked(upload) -> FileType:
    """The type of ``upload`` (an UploadedFile) by its content; a ValidationError naming the file when it is
    too big or not an image or PDF."""
    name = PurePath(upload.name or "file").name
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("%(name)s is %(size)s: files may be up to %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_big",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    file_type = sniffed(head)
    if file_type is None:
        raise ValidationError(
            _("%(name)s is not an image (PNG, JPEG, GIF, WebP) or a PDF.") % {"name": name},
            code="file_type",
        )
    return file_type


def shown_name(upload_name: str, file_type: FileType) -> str:
    """The name the file is shown and downloaded under: the sender's, with its real type's extension (a PNG
    sent as "scan.pdf" is "scan.png")."""
    stem = PurePath(upload_name or "file").stem[:100] or "file"
    return f"{stem}.{file_type.extension}"
