"""The sandbox catalog: compact product data and the deterministic generator that expands it.

Each product becomes one service per tier (refill guarantee, quality), named the way JAP names
them: `Instagram Followers [Refill: 30D] [Max: 100K] [Start: 0-1 Hr] [Speed: 20K/D]`. Ids are
`platform number × 1000 + position`, so they never move when a product is added at the end of
a platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

UNLIMITED = 2147483647

START_SECONDS = {
    "Instant": 300,
    "0-15 Min": 900,
    "0-1 Hr": 3600,
    "0-6 Hrs": 6 * 3600,
    "0-24 Hrs": 24 * 3600,
}


@dataclass(frozen=True)
class Tier:
    tag: str
    factor: str
    refill_days: int | None  # 0: no refill; None: lifetime
    cancel: bool


TIERS = {
    "plain": Tier("", "1", 0, True),
    "norefill": Tier("[No Refill]", "0.6", 0, True),
    "refill30": Tier("[Refill: 30D]", "1", 30, True),
    "refill90": Tier("[Refill: 90D]", "1.35", 90, True),
    "lifetime": Tier("[Refill: Lifetime]", "1.8", None, False),
    "real": Tier("[Real] [Refill: 30D]", "2.5", 30, False),
    "hq": Tier("[HQ] [No Refill]", "1.4", 0, False),
}


@dataclass(frozen=True)
class Product:
    name: str
    rate: str
    min: int
    max: int
    speed: int
    start: str = "0-1 Hr"
    tiers: tuple[str, ...] = ("plain",)
    type: str = "Default"
    category: str = ""
    dripfeed: bool | None = None  # None: drip-feed for Default products


@dataclass(frozen=True)
class ServiceSpec:
    id: int
    name: str
    type: str
    category: str
    platform: str
    rate: Decimal
    min: int
    max: int
    dripfeed: bool
    refill: bool
    refill_days: int | None
    cancel: bool
    start_max_seconds: int
    speed_per_day: int


P = Product
MENTIONS = "Mentions"
SELF_NAMED = {"App Stores"}
REFILLS = ("norefill", "refill30", "refill90", "lifetime")

PLATFORMS: list[tuple[str, list[Product]]] = [
    (
        "Instagram",
        [
            P("Followers", "0.90", 10, 100_000, 20_000, tiers=(*REFILLS, "real")),
            P("Likes", "0.12", 10, 50_000, 50_000, "0-15 Min", ("norefill", "refill30", "real")),
            P("Views", "0.0015", 100, UNLIMITED, 200_000, "0-15 Min", ("plain",)),
            P("Reel Views", "0.002", 100, UNLIMITED, 500_000, "0-15 Min", ("plain", "hq")),
            P("Story Views", "0.03", 10, 20_000, 20_000, tiers=("plain", "hq")),
            P("Saves", "0.05", 10, 100_000, 30_000, tiers=("plain", "refill30")),
            P("Shares", "0.04", 10, 1_000_000, 50_000, tiers=("plain",)),
            P("Profile Visits", "0.10", 100, 1_000_000, 100_000),
            P("Impressions", "0.02", 100, 5_000_000, 500_000),
            P("Reach + Impressions", "0.035", 100, 1_000_000, 200_000),
            P("Live Stream Views [60 Minutes]", "2.50", 20, 5_000, 5_000, "Instant", dripfeed=False),
            P("Random Comments", "5.00", 10, 1_000, 2_000, tiers=("plain", "hq")),
            P("Custom Comments", "8.00", 10, 1_500, 1_000, type="Custom Comments"),
            P("Custom Comments [Female]", "12.00", 5, 500, 500, type="Custom Comments"),
            P("10 Custom Comments Package", "1.20", 1, 1, 100, type="Custom Comments Package"),
            P("Mentions", "3.00", 100, 50_000, 20_000, type=MENTIONS, category="Instagram Mentions"),
            P(
                "Mentions + Hashtags",
                "4.00",
                100,
                50_000,
                20_000,
                type="Mentions with Hashtags",
                category="Instagram Mentions",
            ),
            P(
                "Mentions [Custom List]",
                "5.00",
                10,
                10_000,
                10_000,
                type="Mentions Custom List",
                category="Instagram Mentions",
            ),
            P(
                "Mentions [From Hashtag]",
                "3.50",
                100,
                50_000,
                20_000,
                type="Mentions Hashtag",
                category="Instagram Mentions",
            ),
            P(
                "Mentions [User Followers]",
                "3.50",
                100,
                50_000,
                20_000,
                type="Mentions User Followers",
                category="Instagram Mentions",
            ),
            P(
                "Mentions [Media Likers]",
                "3.50",
                100,
                50_000,
                20_000,
                type="Mentions Media Likers",
                category="Instagram Mentions",
            ),
            P("Comment Likes", "4.00", 20, 10_000, 5_000, type="Comment Likes"),
            P("Comment Replies [Custom]", "9.00", 5, 1_000, 1_000, type="Comment Replies"),
            P("Story Poll Votes", "1.50", 100, 100_000, 20_000, type="Poll"),
            P("Auto Likes [Per Post]", "0.15", 50, 10_000, 50_000, "0-15 Min", type="Subscriptions"),
            P("Auto Views [Per Post]", "0.003", 100, 1_000_000, 500_000, "0-15 Min", type="Subscriptions"),
            P("Starter Package [1K Followers + 1K Likes]", "1.60", 1, 1, 1_000, type="Package"),
        ],
    ),
    (
        "YouTube",
        [
            P(
                "Views",
                "1.20",
                100,
                1_000_000,
                10_000,
                "0-6 Hrs",
                ("norefill", "refill30", "lifetime", "real"),
            ),
            P("Likes", "0.80", 20, 100_000, 10_000, tiers=("norefill", "refill30", "lifetime")),
            P("Subscribers", "12.00", 50, 50_000, 1_000, "0-24 Hrs", ("refill30", "refill90", "lifetime")),
            P("Watch Time [Hours]", "9.00", 100, 4_000, 500, "0-24 Hrs", ("refill30", "lifetime")),
            P("Shorts Views", "0.50", 100, 10_000_000, 100_000, tiers=("plain", "hq")),
            P("Shorts Likes", "0.70", 20, 100_000, 10_000, tiers=("norefill", "refill30")),
            P("Live Stream Viewers [30 Minutes]", "1.50", 50, 20_000, 20_000, "Instant", dripfeed=False),
            P("Dislikes", "1.00", 20, 50_000, 5_000),
            P("Shares", "0.90", 50, 100_000, 10_000),
            P("Custom Comments", "15.00", 5, 1_000, 500, type="Custom Comments"),
            P("Comment Likes", "3.00", 20, 10_000, 5_000, type="Comment Likes"),
            P("Comment Replies", "18.00", 5, 500, 300, type="Comment Replies"),
            P("Community Poll Votes", "2.00", 50, 50_000, 10_000, type="Poll"),
            P("Auto Views [New Videos]", "1.10", 100, 100_000, 10_000, "0-6 Hrs", type="Subscriptions"),
            P("Monetization Package [1K Subs + 4K Hours]", "90.00", 1, 1, 100, "0-24 Hrs", type="Package"),
        ],
    ),
    (
        "Facebook",
        [
            P("Page Likes", "2.20", 100, 100_000, 5_000, tiers=("norefill", "refill30", "lifetime")),
            P("Page Followers", "1.80", 100, 200_000, 10_000, tiers=("norefill", "refill30", "lifetime")),
            P("Post Likes", "0.90", 50, 100_000, 20_000, tiers=("norefill", "refill30")),
            P("Post Reactions [Love]", "1.10", 50, 50_000, 10_000, tiers=("plain",)),
            P("Video Views", "0.60", 500, 10_000_000, 100_000, tiers=("plain", "hq")),
            P("Reels Views", "0.40", 500, 10_000_000, 200_000),
            P("Group Members", "3.00", 100, 50_000, 5_000, "0-6 Hrs", ("norefill", "refill30")),
            P("Event Interested", "2.50", 100, 20_000, 5_000),
            P("Live Stream Views [60 Minutes]", "4.00", 50, 10_000, 10_000, "Instant", dripfeed=False),
            P("Custom Comments", "10.00", 10, 1_000, 500, type="Custom Comments"),
            P("Comment Likes", "3.50", 20, 10_000, 5_000, type="Comment Likes"),
            P("Poll Votes", "2.00", 50, 50_000, 10_000, type="Poll"),
            P("Event Invites [From Groups]", "4.00", 100, 20_000, 5_000, type="Invites from Groups"),
            P("Auto Likes [New Posts]", "1.00", 50, 10_000, 20_000, type="Subscriptions"),
        ],
    ),
    (
        "Twitter (X)",
        [
            P("Followers", "4.50", 50, 100_000, 5_000, "0-6 Hrs", ("norefill", "refill30", "lifetime")),
            P("Likes", "1.20", 20, 50_000, 10_000, tiers=("norefill", "refill30")),
            P("Retweets", "1.80", 20, 20_000, 5_000, tiers=("norefill", "refill30")),
            P("Views", "0.05", 100, UNLIMITED, 1_000_000, "0-15 Min"),
            P("Impressions", "0.08", 100, 10_000_000, 500_000),
            P("Bookmarks", "1.00", 20, 20_000, 10_000),
            P("Poll Votes", "2.50", 50, 100_000, 20_000, type="Poll"),
            P("Custom Replies", "20.00", 5, 500, 300, type="Custom Comments"),
            P("Mentions [Custom List]", "6.00", 10, 5_000, 5_000, type="Mentions Custom List"),
            P("Auto Likes [New Tweets]", "1.30", 20, 10_000, 10_000, type="Subscriptions"),
        ],
    ),
    (
        "TikTok",
        [
            P("Followers", "2.10", 10, 500_000, 20_000, tiers=(*REFILLS, "real")),
            P("Likes", "0.35", 10, 500_000, 50_000, "0-15 Min", ("norefill", "refill30", "lifetime")),
            P("Views", "0.01", 100, UNLIMITED, 5_000_000, "0-15 Min", ("plain", "hq")),
            P("Shares", "0.30", 100, 1_000_000, 100_000),
            P("Saves", "0.25", 100, 1_000_000, 100_000),
            P("Live Stream Views [30 Minutes]", "3.00", 50, 10_000, 10_000, "Instant", dripfeed=False),
            P("Custom Comments", "9.00", 10, 1_000, 1_000, type="Custom Comments"),
            P("Comment Likes", "2.00", 20, 10_000, 10_000, type="Comment Likes"),
            P("Auto Views [New Videos]", "0.02", 100, 1_000_000, 1_000_000, type="Subscriptions"),
        ],
    ),
    (
        "LinkedIn",
        [
            P("Followers", "18.00", 100, 10_000, 1_000, "0-24 Hrs", ("norefill", "refill30")),
            P("Company Page Followers", "20.00", 100, 10_000, 1_000, "0-24 Hrs", ("norefill", "refill30")),
            P("Connections", "25.00", 100, 5_000, 500, "0-24 Hrs", ("refill30",)),
            P("Post Likes", "10.00", 20, 5_000, 1_000, "0-6 Hrs", ("plain",)),
            P("Post Reposts", "15.00", 20, 2_000, 500, "0-6 Hrs"),
            P("Custom Comments", "40.00", 5, 200, 100, "0-24 Hrs", type="Custom Comments"),
        ],
    ),
    (
        "Telegram",
        [
            P("Members", "0.125", 10, 100_000, 20_000, tiers=("norefill", "refill30", "lifetime", "real")),
            P("Premium Members", "9.00", 10, 10_000, 2_000, "0-6 Hrs", ("refill30",)),
            P("Post Views [Last Post]", "0.02", 100, 1_000_000, 200_000, "0-15 Min"),
            P("Post Views [Last 10 Posts]", "0.15", 100, 500_000, 100_000, "0-15 Min"),
            P("Reactions [Positive Mix]", "0.30", 10, 100_000, 50_000, "0-15 Min"),
            P("Bot Starts", "1.20", 100, 100_000, 10_000),
            P("Poll Votes", "0.80", 50, 100_000, 20_000, type="Poll"),
            P(
                "Members [Invites from Groups]",
                "1.50",
                100,
                50_000,
                10_000,
                "0-6 Hrs",
                type="Invites from Groups",
            ),
            P("Auto Post Views [New Posts]", "0.03", 100, 1_000_000, 500_000, type="Subscriptions"),
        ],
    ),
    (
        "Discord",
        [
            P("Server Members [Offline]", "3.50", 100, 50_000, 5_000, "0-6 Hrs", ("norefill", "refill30")),
            P("Server Members [Online]", "8.00", 100, 20_000, 2_000, "0-6 Hrs", ("norefill", "refill30")),
            P("Friend Requests", "5.00", 50, 5_000, 1_000),
            P("Message Reactions", "2.00", 10, 5_000, 5_000, "0-15 Min"),
        ],
    ),
    (
        "Spotify",
        [
            P("Plays [USA]", "1.10", 1_000, 10_000_000, 50_000, "0-24 Hrs", ("plain", "hq")),
            P("Plays [Worldwide]", "0.70", 1_000, 10_000_000, 100_000, "0-24 Hrs", ("plain", "hq")),
            P("Followers", "1.00", 100, 1_000_000, 20_000, tiers=("norefill", "refill30", "lifetime")),
            P("Monthly Listeners", "2.50", 500, 1_000_000, 20_000, "0-24 Hrs"),
            P("Saves", "1.20", 100, 500_000, 20_000),
            P("Playlist Followers", "1.00", 100, 1_000_000, 20_000, tiers=("norefill", "refill30")),
        ],
    ),
    (
        "Twitch",
        [
            P("Followers", "1.50", 50, 100_000, 10_000, tiers=("norefill", "refill30", "lifetime")),
            P("Live Viewers [60 Minutes]", "6.00", 10, 2_000, 2_000, "Instant", dripfeed=False),
            P("Channel Views", "0.80", 100, 1_000_000, 100_000),
            P("Clip Views", "0.60", 100, 1_000_000, 100_000),
            P("Chat Messages [Custom]", "12.00", 10, 1_000, 500, type="Custom Comments"),
        ],
    ),
    (
        "Website Traffic",
        [
            P("Website Traffic [Worldwide]", "0.20", 500, UNLIMITED, 100_000, type="Web Traffic"),
            P("Website Traffic [USA]", "0.60", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [United Kingdom]", "0.55", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [Germany]", "0.55", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [France]", "0.50", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [Brazil]", "0.35", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [India]", "0.25", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [Japan]", "0.65", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [Canada]", "0.60", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [Choose Country]", "0.70", 500, 10_000_000, 50_000, type="Web Traffic"),
            P("Website Traffic [From Social Media]", "0.40", 500, 5_000_000, 100_000, tiers=("plain", "hq")),
            P("Website Traffic [Pop-Under]", "0.10", 1_000, UNLIMITED, 500_000),
        ],
    ),
    (
        "SEO",
        [
            P("Keyword Backlinks [DA 30+]", "6.00", 100, 10_000, 2_000, "0-24 Hrs", type="SEO"),
            P("Keyword Backlinks [DA 50+]", "15.00", 50, 5_000, 1_000, "0-24 Hrs", type="SEO"),
            P("Social Signals [Keywords]", "1.50", 500, 100_000, 20_000, "0-24 Hrs", type="SEO"),
            P("Wiki Backlinks [Keywords]", "20.00", 10, 1_000, 200, "0-24 Hrs", type="SEO"),
            P("Guest Post [DA 50+]", "35.00", 1, 1, 10, "0-24 Hrs", type="Package"),
            P("Monthly SEO Package [Local Business]", "99.00", 1, 1, 10, "0-24 Hrs", type="Package"),
        ],
    ),
    (
        "Google",
        [
            P("Reviews [Custom] [5 Stars]", "90.00", 1, 200, 20, "0-24 Hrs", type="Custom Comments"),
            P("Maps Reviews [Custom] [5 Stars]", "100.00", 1, 200, 20, "0-24 Hrs", type="Custom Comments"),
            P("Maps Reviews [Country Targeted]", "120.00", 1, 100, 10, "0-24 Hrs", type="Custom Comments"),
            P("Maps 5 Reviews Package", "4.50", 1, 1, 10, "0-24 Hrs", type="Custom Comments Package"),
            P("Maps Rating Package [5 Stars x 10]", "8.00", 1, 1, 10, "0-24 Hrs", type="Package"),
            P("Business Profile Views", "1.50", 100, 100_000, 10_000, "0-6 Hrs"),
            P("Maps Saves", "5.00", 20, 10_000, 1_000, "0-6 Hrs"),
            P("Maps Direction Requests", "6.00", 20, 10_000, 1_000, "0-6 Hrs"),
        ],
    ),
    (
        "App Stores",
        [
            P("Google Play Installs [Worldwide]", "1.50", 100, 100_000, 5_000, "0-24 Hrs", ("plain", "hq")),
            P("Google Play Installs [USA]", "4.00", 100, 50_000, 2_000, "0-24 Hrs"),
            P("Google Play Reviews [Custom]", "60.00", 5, 500, 50, "0-24 Hrs", type="Custom Comments"),
            P("Google Play Ratings [5 Stars]", "25.00", 10, 1_000, 100, "0-24 Hrs"),
            P(
                "App Store (iOS) Installs [Worldwide]",
                "3.00",
                100,
                50_000,
                2_000,
                "0-24 Hrs",
                ("plain", "hq"),
            ),
            P("App Store (iOS) Installs [USA]", "6.00", 100, 20_000, 1_000, "0-24 Hrs"),
            P("App Store (iOS) Reviews [Custom]", "80.00", 5, 300, 30, "0-24 Hrs", type="Custom Comments"),
            P("App Store (iOS) Ratings [5 Stars]", "30.00", 10, 1_000, 100, "0-24 Hrs"),
        ],
    ),
    (
        "Pinterest",
        [
            P("Followers", "3.00", 50, 50_000, 5_000, tiers=("norefill", "refill30")),
            P("Repins", "2.00", 20, 20_000, 5_000),
            P("Likes", "2.00", 20, 20_000, 5_000),
        ],
    ),
    (
        "SoundCloud",
        [
            P("Plays", "0.08", 100, 10_000_000, 500_000, "0-15 Min", ("plain", "hq")),
            P("Followers", "1.50", 50, 100_000, 10_000, tiers=("norefill", "refill30")),
            P("Likes", "0.90", 20, 50_000, 10_000),
            P("Reposts", "1.00", 20, 50_000, 10_000),
            P("Custom Comments", "10.00", 5, 500, 500, type="Custom Comments"),
        ],
    ),
    (
        "Reddit",
        [
            P("Post Upvotes", "5.00", 10, 10_000, 2_000, "0-6 Hrs", ("plain",)),
            P("Comment Upvotes", "5.00", 10, 5_000, 2_000, "0-6 Hrs"),
            P("Subreddit Members", "6.00", 100, 20_000, 2_000, "0-24 Hrs", ("norefill", "refill30")),
            P("Post Views", "0.50", 1_000, 1_000_000, 100_000),
        ],
    ),
    (
        "Threads",
        [
            P("Followers", "2.50", 50, 50_000, 5_000, tiers=("norefill", "refill30")),
            P("Likes", "1.00", 20, 50_000, 10_000),
            P("Reposts", "1.50", 20, 20_000, 5_000),
        ],
    ),
    (
        "Kick",
        [
            P("Followers", "2.00", 50, 50_000, 5_000, tiers=("norefill", "refill30")),
            P("Live Viewers [60 Minutes]", "7.00", 10, 2_000, 2_000, "Instant", dripfeed=False),
        ],
    ),
]


def _short(number: int) -> str:
    if number >= UNLIMITED:
        return "Unlimited"
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if number >= size and number % (size // 10) == 0:
            return f"{Decimal(number) / size:f}".removesuffix(".0") + suffix
    return str(number)


def _label(platform: str, product: Product) -> str:
    # App store products already name their store ("Google Play ...", "App Store (iOS) ...").
    if platform in SELF_NAMED or product.name.startswith(platform):
        return product.name
    return f"{platform} {product.name}"


def _name(platform: str, product: Product, tier: Tier) -> str:
    parts = [_label(platform, product), tier.tag]
    if product.max > 1:
        parts.append(f"[Max: {_short(product.max)}]")
    parts.append(f"[Start: {product.start}]")
    if product.type not in ("Package", "Custom Comments Package"):
        parts.append(f"[Speed: {_short(product.speed)}/D]")
    return " ".join(part for part in parts if part)


def _category(platform: str, product: Product) -> str:
    if product.category:
        return product.category
    # "Followers [Real]" → "Instagram Followers"; "Website Traffic [USA]" → "Website Traffic".
    return _label(platform, product).split(" [")[0]


def catalog_generate() -> list[ServiceSpec]:
    """Expand PLATFORMS into the full, ordered list of sandbox services."""
    specs: list[ServiceSpec] = []
    for number, (platform, products) in enumerate(PLATFORMS, start=1):
        position = 0
        for product in products:
            for tier_name in product.tiers:
                position += 1
                tier = TIERS[tier_name]
                rate = (Decimal(product.rate) * Decimal(tier.factor)).quantize(
                    Decimal("0.0001"), rounding=ROUND_HALF_UP
                )
                dripfeed = product.dripfeed
                if dripfeed is None:
                    dripfeed = product.type in ("Default", "Web Traffic")
                specs.append(
                    ServiceSpec(
                        id=number * 1000 + position,
                        name=_name(platform, product, tier),
                        type=product.type,
                        category=_category(platform, product),
                        platform=platform,
                        rate=rate,
                        min=product.min,
                        max=product.max,
                        dripfeed=dripfeed,
                        refill=tier.refill_days != 0,
                        refill_days=tier.refill_days,
                        cancel=tier.cancel,
                        start_max_seconds=START_SECONDS[product.start],
                        speed_per_day=product.speed,
                    )
                )
    return specs
