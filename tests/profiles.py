"""How hard the fuzzers and the admin sweep try. The suite people run while working (``bin/test``) tries a
quarter of the examples each fuzzer asks for, and one hostile value of each kind in the admin sweep; CI runs
the thorough profile (``bin/test --hypothesis-profile=thorough``), which tries all of them. Examples are
derandomized in both: a run repeats the run before, and a failure found once is found again."""

from hypothesis import settings

settings.register_profile("thorough")  # each fuzzer's own count, in full


def thorough() -> bool:
    return settings.get_current_profile_name() == "thorough"


def examples(count: int) -> int:
    """A fuzzer's number of examples: ``count`` in the thorough profile, a quarter of it otherwise."""
    return count if thorough() else max(10, count // 4)
