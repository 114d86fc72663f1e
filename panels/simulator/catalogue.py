"""The simulator's service catalogues: one per seed provider's dialect, and one with every type."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class SimService:
    id: int
    name: str
    type: str
    category: str
    rate: Decimal  # per 1000 (per package for package types)
    min: int
    max: int
    refill: bool = False
    cancel: bool = False
    # None: the catalogue does not say, as in both seed documents — Default services accept runs and
    # interval, others not. True/False: stated (sent only with the simulator's ``dripfeed_flag`` quirk).
    dripfeed: bool | None = None
    desc: str = ""

    @property
    def accepts_dripfeed(self) -> bool:
        return self.dripfeed if self.dripfeed is not None else self.type == "Default"


def _service(id, name, type, category, rate, min, max, **flags) -> SimService:
    return SimService(id, name, type, category, Decimal(rate), min, max, **flags)


# What each seed provider's document lists (specs/), with realistic names and prices.
_SMMCLOUD = [
    _service(
        1,
        "Instagram Followers [Refill 30D]",
        "Default",
        "Instagram - Followers",
        "0.90",
        50,
        10000,
        refill=True,
        cancel=True,
        desc="Real-looking profiles. Start 0-1 h.",
    ),
    _service(
        2, "Instagram Likes [No Refill]", "Default", "Instagram - Likes", "0.12", 10, 50000, cancel=True
    ),
    _service(
        3,
        "Instagram Starter Package (1000 likes + 100 followers)",
        "Package",
        "Instagram - Packages",
        "4.50",
        1,
        1,
    ),
    _service(
        4, "Instagram Custom Comments", "Custom Comments", "Instagram - Comments", "8", 10, 1500, cancel=True
    ),
    _service(
        5,
        "Instagram Auto Likes [Subscription]",
        "Subscriptions",
        "Instagram - Auto Likes",
        "0.35",
        100,
        20000,
    ),
    _service(6, "Instagram Comment Likes", "Comment Likes", "Instagram - Comments", "2.10", 20, 5000),
    _service(7, "Instagram Comment Replies", "Comment Replies", "Instagram - Comments", "12", 1, 500),
    _service(
        8,
        "Telegram Group Invites",
        "Invites from Groups",
        "Telegram - Members",
        "3.20",
        100,
        20000,
        refill=True,
    ),
]
_SMMCOOL = [
    _service(
        101,
        "TikTok Followers [Refill 60D]",
        "Default",
        "TikTok - Followers",
        "1.25",
        100,
        50000,
        refill=True,
        cancel=True,
    ),
    _service(102, "TikTok Views", "Default", "TikTok - Views", "0.02", 100, 1000000),
    _service(103, "YouTube Starter Package", "Package", "YouTube - Packages", "9.99", 1, 1),
    _service(
        104, "YouTube Custom Comments", "Custom Comments", "YouTube - Comments", "15", 5, 1000, cancel=True
    ),
    _service(
        105,
        "Instagram Mentions [User Followers]",
        "Mentions User Followers",
        "Instagram - Mentions",
        "6.40",
        100,
        10000,
    ),
    _service(106, "Telegram Poll Votes", "Poll", "Telegram - Polls", "0.80", 50, 20000, cancel=True),
]
_OTHER_TYPES = [
    _service(
        201, "Instagram Comments Package (10)", "Custom Comments Package", "Instagram - Comments", "3", 1, 1
    ),
    _service(202, "Instagram Mentions", "Mentions", "Instagram - Mentions", "5", 100, 10000),
    _service(
        203,
        "Instagram Mentions + Hashtags",
        "Mentions with Hashtags",
        "Instagram - Mentions",
        "6",
        100,
        10000,
    ),
    _service(
        204, "Instagram Mentions [Custom List]", "Mentions Custom List", "Instagram - Mentions", "7", 1, 1000
    ),
    _service(
        205, "Instagram Mentions [Hashtag]", "Mentions Hashtag", "Instagram - Mentions", "5.5", 100, 10000
    ),
    _service(
        206,
        "Instagram Mentions [Media Likers]",
        "Mentions Media Likers",
        "Instagram - Mentions",
        "5.8",
        100,
        10000,
    ),
    _service(207, "Google Keyword Traffic", "SEO", "Website - SEO", "1.10", 100, 100000),
]

DIALECTS = {
    "smmcloud": _SMMCLOUD,
    "smmcool": _SMMCOOL,
    "full": [*_SMMCLOUD, *_SMMCOOL, *_OTHER_TYPES],
}


def seed_services(dialect: str) -> list[SimService]:
    """Fresh copies (the simulator mutates its catalogue)."""
    if dialect not in DIALECTS:
        raise ValueError(f"Unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
    return [SimService(**vars(service)) for service in DIALECTS[dialect]]


_PLATFORMS = ["Instagram", "TikTok", "YouTube", "Telegram", "Twitter", "Facebook", "Spotify", "Twitch"]
_KINDS = ["Followers", "Likes", "Views", "Comments", "Shares", "Saves", "Members", "Plays"]


def generated_services(first_id: int, count: int) -> list[SimService]:
    """Plausible Default services in bulk, for big-catalogue tests and benchmarks."""
    services = []
    for offset in range(count):
        number = first_id + offset
        platform = _PLATFORMS[number % len(_PLATFORMS)]
        kind = _KINDS[(number // len(_PLATFORMS)) % len(_KINDS)]
        services.append(
            SimService(
                id=number,
                name=f"{platform} {kind} #{number}",
                type="Default",
                category=f"{platform} - {kind}",
                rate=Decimal(10 + number % 990) / Decimal(100),
                min=10 * (1 + number % 10),
                max=10000 * (1 + number % 5),
                refill=number % 3 == 0,
                cancel=number % 2 == 0,
            )
        )
    return services
