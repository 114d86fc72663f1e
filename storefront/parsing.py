"""Reading query strings that anyone can type: a value that cannot mean anything is ignored (an empty search,
no such service), never a crash. Storefront views read their parameters through these and
``reseller.numbers.whole_number`` (ids: ASCII digits only)."""


def query_text(query_dict, name: str, *, max_length: int = 200) -> str:
    """A free-text parameter, stripped and cut to ``max_length``, without NUL (PostgreSQL refuses it)."""
    return query_dict.get(name, "").replace("\x00", "").strip()[:max_length]
