"""The social accounts YAML (``SPOTIFY_AGENT_SOCIAL_ACCOUNTS``): which platform accounts are
each roster artist's. Validated whole before any call, every error naming its field::

    artists:
      <spotify artist id>:
        youtube_channel_id: UC...          # 24 characters, as in the channel URL
        lastfm_name: The Artist            # or / and
        lastfm_mbid: 0383dadf-2a4e-4d10-a46a-e9e041da8eb3   # preferred: names are not unique
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from spotify_agent_assets.activation.social_connector import ArtistAccount

YOUTUBE_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FIELDS = ("youtube_channel_id", "lastfm_name", "lastfm_mbid")


class SocialAccountsError(ValueError):
    """The social accounts file is unusable; the message names the file and the field."""


def load_social_accounts(path: str | Path, roster_ids: Collection[str]) -> list[ArtistAccount]:
    """Every artist's accounts, in file order; an artist id not on the roster is refused."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SocialAccountsError(
            f"{path}: social accounts file not found (SPOTIFY_AGENT_SOCIAL_ACCOUNTS)"
        ) from None
    except yaml.YAMLError as error:
        raise SocialAccountsError(f"{path}: not valid YAML ({error})") from None
    return parse_social_accounts(doc, roster_ids, str(path))


def parse_social_accounts(
    doc: Any, roster_ids: Collection[str], where: str = "social accounts"
) -> list[ArtistAccount]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"artists"}:
        raise SocialAccountsError(f"{where}: expected a mapping with the single key 'artists'")
    artists = doc.get("artists") or {}
    if not isinstance(artists, dict):
        raise SocialAccountsError(f"{where}: artists: expected a mapping of artist id -> accounts")
    roster = set(roster_ids)
    accounts = []
    for artist_id, entry in artists.items():
        at = f"{where}: artists.{artist_id}"
        if str(artist_id) not in roster:
            raise SocialAccountsError(
                f"{at}: unknown artist id (expected a Spotify artist id on the roster)"
            )
        if not isinstance(entry, dict) or not entry:
            raise SocialAccountsError(f"{at}: expected a mapping with some of {', '.join(FIELDS)}")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise SocialAccountsError(
                f"{at}.{unknown[0]}: unknown field (expected {', '.join(FIELDS)})"
            )
        values = {}
        for name in FIELDS:
            value = entry.get(name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SocialAccountsError(
                    f"{at}.{name}: expected a non-empty string, got {value!r}"
                )
            values[name] = value.strip() if isinstance(value, str) else None
        channel, mbid = values["youtube_channel_id"], values["lastfm_mbid"]
        if channel is not None and not YOUTUBE_CHANNEL_ID.match(channel):
            raise SocialAccountsError(
                f"{at}.youtube_channel_id: expected 'UC' and 22 letters, digits, - or _, "
                f"got {channel!r}"
            )
        if mbid is not None and not MBID.match(mbid):
            raise SocialAccountsError(
                f"{at}.lastfm_mbid: expected a MusicBrainz id (lowercase UUID), got {mbid!r}"
            )
        accounts.append(ArtistAccount(str(artist_id), channel, values["lastfm_name"], mbid))
    return accounts
