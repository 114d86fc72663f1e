"""JSON from outside — a reseller's request body, a provider's answer — read so that no input can crash us.

``json.loads`` alone lets through what breaks later: nesting thousands deep (RecursionError in the parser,
or in whatever walks the result), ``NaN``/``Infinity``/``1e999`` (no database stores them), unpaired
surrogates (``"\\ud800"``, which cannot be encoded to UTF-8, so PostgreSQL and SQLite refuse them) and NUL
characters (PostgreSQL refuses them in text and ``jsonb``). ``json_parse`` refuses the first two kinds;
text it refuses or repairs, as the caller chooses: a request is refused, a provider's answer repaired.
"""

import json
import math
import re
from typing import Any, Literal

MAX_DEPTH = 32  # API calls need 2 levels, provider answers 4: far below the parser's recursion limit
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # in text decoded from bytes, surrogates are unpaired


class JsonRefused(ValueError):
    """Not JSON we accept; the message says why and is safe to show."""


def _refuse_constant(name: str):
    raise JsonRefused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRefused(f"the number {text[:20]} is out of range")
    return number


def json_parse(
    raw: str | bytes, *, max_depth: int = MAX_DEPTH, bad_text: Literal["refuse", "repair"] = "refuse"
) -> Any:
    """The value of ``raw``; raises ``JsonRefused``. ``bad_text="repair"`` turns unpaired surrogates into
    U+FFFD and drops NUL characters instead of refusing them."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise JsonRefused(f"nested deeper than {max_depth} levels") from None
    except JsonRefused:
        raise
    except ValueError as error:  # malformed, bad encoding, an integer of more than 4300 digits
        raise JsonRefused(str(error)) from None
    return _checked(value, max_depth, max_depth, bad_text == "repair")


def storable(text: str) -> str:
    """``text`` without what no database stores: NUL characters dropped, unpaired surrogates made U+FFFD."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: "" if match[0] == "\x00" else "\ufffd", text)


def _checked(value: Any, depth_left: int, max_depth: int, repair: bool) -> Any:
    if isinstance(value, str):
        if _UNSTORABLE.search(value) is None:
            return value
        if not repair:
            raise JsonRefused("a text holds an unpaired surrogate or a NUL character")
        return storable(value)
    if not isinstance(value, dict | list):
        return value
    if depth_left <= 0:
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    if isinstance(value, list):
        return [_checked(item, depth_left - 1, max_depth, repair) for item in value]
    return {
        _checked(name, depth_left, max_depth, repair): _checked(item, depth_left - 1, max_depth, repair)
        for name, item in value.items()
    }
