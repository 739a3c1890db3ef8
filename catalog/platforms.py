"""Which platform a provider's service is for, derived from its category and name."""

from __future__ import annotations

import re

from django.db import models


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    YOUTUBE = "youtube", "YouTube"
    FACEBOOK = "facebook", "Facebook"
    TWITTER = "twitter", "Twitter/X"
    TIKTOK = "tiktok", "TikTok"
    LINKEDIN = "linkedin", "LinkedIn"
    TELEGRAM = "telegram", "Telegram"
    DISCORD = "discord", "Discord"
    SPOTIFY = "spotify", "Spotify"
    TWITCH = "twitch", "Twitch"
    WEBSITE_TRAFFIC = "website_traffic", "Website Traffic"
    SEO = "seo", "SEO"
    GOOGLE = "google", "Google"
    APP_STORE = "app_store", "App Store"
    OTHER = "other", "Other"


# Order matters: the first pattern that matches wins. Specific platforms come before the
# generic families ("YouTube Views" is YouTube, not traffic; "Google Maps Reviews" is Google,
# "Website Traffic from Google" is traffic), and word boundaries keep "x" or "ig" from matching
# inside other words.
_RULES: tuple[tuple[Platform, re.Pattern[str]], ...] = tuple(
    (platform, re.compile(pattern, re.IGNORECASE))
    for platform, pattern in (
        (Platform.INSTAGRAM, r"\binstagram\b|\binsta\b|\big\b|\breels?\b"),
        (Platform.YOUTUBE, r"\byou ?tube\b|\byt\b|\bshorts\b"),
        (Platform.TIKTOK, r"\btik ?tok\b"),
        (Platform.FACEBOOK, r"\bfacebook\b|\bfb\b"),
        (Platform.TWITTER, r"\btwitter\b|\btweets?\b|\bretweets?\b|\bx\.com\b|\bx\b"),
        (Platform.LINKEDIN, r"\blinked ?in\b"),
        (Platform.TELEGRAM, r"\btelegram\b"),
        (Platform.DISCORD, r"\bdiscord\b"),
        (Platform.SPOTIFY, r"\bspotify\b"),
        (Platform.TWITCH, r"\btwitch\b"),
        (Platform.APP_STORE, r"\bapp ?store\b|\bgoogle play\b|\bplay store\b|\bapp (installs?|reviews?)\b"),
        (Platform.WEBSITE_TRAFFIC, r"\b(website|web|site) (traffic|visits|visitors)\b|\btraffic\b"),
        (Platform.SEO, r"\bseo\b|\bbacklinks?\b|\bkeywords?\b|\bdomain authority\b"),
        (Platform.GOOGLE, r"\bgoogle\b|\bgmb\b|\bmaps\b"),
    )
)


def platform_for(category: str, name: str) -> Platform:
    """The platform of a service: its category decides first, then its name."""
    for text in (category, name):
        for platform, pattern in _RULES:
            if pattern.search(text or ""):
                return platform
    return Platform.OTHER
