"""Times are stored in UTC, and shown and typed in UK time (GMT or BST), as a council's staff read them."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """MOMENT with its zone said: SQLite hands stored UTC times back without one."""
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def shown(moment: dt.datetime, fmt: str = "%d %b %Y %H:%M") -> str:
    return as_utc(moment).astimezone(UK).strftime(f"{fmt} %Z")


def day_starts(day: dt.date) -> dt.datetime:
    """The UTC moment the UK day DAY begins (23:00 the evening before, in summer)."""
    return dt.datetime.combine(day, dt.time(), UK).astimezone(dt.timezone.utc)
