"""The translations are complete and shipped (issue 16): every string a customer reads is in each language's
catalogue, translated, not fuzzy, and the compiled ``.mo`` the panel loads says what its ``.po`` says.

Adding a string without translating it, or editing a ``.po`` without compiling it, fails here; README
"Languages" says how to fix either."""

import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command

TRANSLATED = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def catalogue(code: str, ext: str = "po") -> Path:
    return Path(settings.BASE_DIR) / "locale" / code / "LC_MESSAGES" / f"django.{ext}"


def read(path: Path, reader=read_po):
    with path.open("rb") as file:
        return reader(file)


def entries(catalog) -> dict[tuple[str | None, str], object]:
    """(context, msgid) → msgstr of every entry (a plural's msgid: its singular)."""
    return {
        (message.context, message.id if isinstance(message.id, str) else message.id[0]): message.string
        for message in catalog
        if message.id
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """What ``makemessages`` finds in the sources today (the project's own command, customer-facing sources
    only), extracted beside the checkout: the tree is linked into a scratch directory, whose locale/ gets
    the fresh catalogue."""
    scratch = tmp_path_factory.mktemp("extracted")
    base = Path(settings.BASE_DIR)
    for entry in base.iterdir():
        if not entry.name.startswith(".") and entry.name not in {"locale", "var", "staticfiles"}:
            (scratch / entry.name).symlink_to(entry)
    (scratch / "locale").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(scratch)
        patch.setattr(settings, "LOCALE_PATHS", [scratch / "locale"])
        call_command("makemessages", locale=["en"], symlinks=True, verbosity=0)
    return entries(read(scratch / "locale" / "en" / "LC_MESSAGES" / "django.po"))


def test_the_extraction_finds_the_customer_strings_and_not_the_consoles(extracted):
    # From a template, a form, a model's choices (with its context), a service's error, a customer's mail.
    for key in [
        (None, "New order"),
        (None, "Quantity"),
        ("order status", "In progress"),
        (None, "This service cannot be drip-fed."),
        (None, "Your order #%(number)s (%(service)s) is completed."),
    ]:
        assert key in extracted, key
    assert (None, "Needs review") not in extracted  # the operator's review queue stays English


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_customer_string_is_translated(extracted, code):
    shipped = read(catalogue(code))
    translations = entries(shipped)
    missing = sorted((msgid for key, msgid in extracted.items() if key not in translations), key=str)
    untranslated = sorted(
        (
            msgid
            for (_, msgid), string in translations.items()
            if not all(string if isinstance(string, tuple) else [string])
        ),
        key=str,
    )
    # A plural's id is a tuple: sorted as text beside the others.
    fuzzy = sorted((message.id for message in shipped if message.id and message.fuzzy), key=str)
    fix = f"run makemessages -l {code}, translate locale/{code}, compilemessages (README 'Languages')"
    assert not missing, f"{len(missing)} strings missing from locale/{code} ({fix}): {missing[:10]}"
    assert not untranslated, f"{len(untranslated)} untranslated in locale/{code}: {untranslated[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in locale/{code}: {fuzzy[:10]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_shipped_mo_is_compiled_from_the_po(tmp_path, code):
    """Compared by content: msgfmt's bytes may differ from version to version."""
    shipped = catalogue(code, "mo")
    assert shipped.exists(), f"locale/{code} is not compiled: run compilemessages and commit the .mo"
    fresh = tmp_path / "django.mo"
    subprocess.run([shutil.which("msgfmt"), "-o", fresh, catalogue(code)], check=True)
    assert entries(read(shipped, read_mo)) == entries(read(fresh, read_mo)), (
        f"locale/{code}/LC_MESSAGES/django.mo is not the compiled .po: run compilemessages and commit it"
    )
