"""How hard the fuzzers and sweeps try. The suite people run while working (``bin/test``) tries a quarter of
the examples each fuzzer asks for, two hostile values of each kind per admin form field, posted in all the
fields that take them at once and then in fewer until the verdict of each is known
(tests/console/test_form_mutations.py), and five classes of value in the page sweeps (``tests.hostile.classes``);
CI runs the thorough profile (``bin/test --hypothesis-profile=thorough``), which tries every one, each field
alone. The page
fuzzers' examples are derandomized in both: a run repeats the run before."""

from hypothesis import settings

settings.register_profile("thorough")  # each fuzzer's own count, in full


def thorough() -> bool:
    return settings.get_current_profile_name() == "thorough"


def examples(count: int) -> int:
    """A fuzzer's number of examples: ``count`` in the thorough profile, a quarter of it otherwise."""
    return count if thorough() else max(10, count // 4)
