"""Hostile input for the page fuzzers (storefront, accounts, the admin console): values, query strings and
form bodies sent as raw bytes, so that what no browser would send (NUL, unpaired surrogates, repeated
names) reaches the server as it would from a script."""

import re
from urllib.parse import quote

from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.profiles import examples, thorough

# Bounded and reproducible: the same examples on every run, a few seconds per test on two cores.
FUZZ = settings(
    max_examples=examples(120),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e3",
    "NaN",
    "Infinity",
    "٣",  # Arabic-Indic three: str.isdigit() and int() accept it
    "²",  # superscript two: str.isdigit() accepts it, int() refuses it
    "\uff11",  # full-width one
    "١٢٣٤",
    "9" * 19,  # past a 64-bit integer
    "9" * 40,
    "-" + "9" * 30,
    "99999",
    "abc",
    "%",
    "%%",
    "_",
    "100%",
    "\\",
    "'",
    '"; --',
    "<script>alert(1)</script>",
    "\x00",
    "a\x00b",
    "\ud800",  # an unpaired surrogate (sent as the bytes ED A0 80: not UTF-8)
    "x\udfffy",
    "x" * 5000,
    "\u2028",
    "\r\n",
    "../..",
    "https://x.example/p",
    "31/12/2999",
    "2026-13-45",
    "true",
    "None",
    "[]",
    "{}",
]
# One value per class, for the sweeps that send each to every parameter of every page.
CLASSES = [
    "",
    "٣",
    "²",
    "\uff11",
    "9" * 40,
    "-1",
    "1.5",
    "abc",
    "%",
    "\x00",
    "\ud800",
    "x" * 5000,
    "\u2028",
    "[]",
]
# Outside the thorough profile (tests/profiles.py): a number of another script, one past any integer, a NUL,
# a byte sequence that is not UTF-8, a text past any column.
CLASSES_FEW = ["\uff11", "9" * 40, "\x00", "\ud800", "x" * 5000]


def classes() -> list[str]:
    """The values the sweeps send to every parameter of every page."""
    return CLASSES if thorough() else CLASSES_FEW


hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=12),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)


def _raw(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")


def encoded(pairs: list[tuple[str, str]]) -> str:
    """``name=value&…`` percent-encoded byte for byte (surrogates included); names may repeat."""
    return "&".join(f"{_raw(name)}={_raw(value)}" for name, value in pairs)


def pairs_of(names: list[str], values=hostile, max_size: int = 5):
    """Lists of (name, value): known names (repeated or not) and some unknown ones, hostile values."""
    return st.lists(
        st.tuples(st.one_of(st.sampled_from(names), st.text(max_size=8)), values), max_size=max_size
    )


def get(client, path: str, pairs: list[tuple[str, str]]):
    return client.get(f"{path}?{encoded(pairs)}" if pairs else path)


def post(client, path: str, pairs: list[tuple[str, str]]):
    return client.generic(
        "POST", path, encoded(pairs).encode("ascii"), content_type="application/x-www-form-urlencoded"
    )


def routes(*, excluding: tuple[str, ...] = (), under: str = "") -> list[str]:
    """Every URL route under ``under`` (but not under ``excluding``): new pages are fuzzed without anyone
    listing them here."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif (
                isinstance(entry, URLPattern) and route.startswith(under) and not route.startswith(excluding)
            ):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return found


_CONVERTER = re.compile(r"<(?:(\w+):)?\w+>")


@st.composite
def paths(draw, route_list: list[str], ids: list[int]):
    """A concrete path of one of the routes: ids of real rows (or none), hostile path segments."""
    route = draw(st.sampled_from(route_list))

    def fill(match) -> str:
        if match[1] == "int":
            return str(draw(st.one_of(st.sampled_from(ids or [1]), st.sampled_from([0, 10**18, 10**30]))))
        segment = draw(st.one_of(st.sampled_from(ids or [1]).map(str), hostile.filter(bool)))
        return _raw(segment).replace("%2F", "/") if match[1] == "path" else _raw(segment)

    return "/" + _CONVERTER.sub(fill, route)
