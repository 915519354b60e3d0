"""Durations as people write them: "90s", "45m", "2h", "1h30m", "1d"."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXAMPLES = "e.g. 90s, 45m, 2h, 1h30m, 1d"


def parse_duration(text: str) -> timedelta:
    """Parse "1h30m" into a timedelta; raise ValueError with a readable reason otherwise.

    Zero is refused the same way with or without a unit ("0", "0m"); a number without a
    unit ("30") is refused with the units it could mean.
    """
    compact = text.strip().lower().replace(" ", "")
    if compact.isdigit() and int(compact) > 0:
        raise ValueError(f"{text!r} has no unit: write {int(compact)}m for minutes ({EXAMPLES})")
    if not compact.isdigit() and (not compact or _PART.sub("", compact)):
        raise ValueError(f"{text!r} is not a duration ({EXAMPLES})")
    seconds = 0 if compact.isdigit() else _seconds(compact)
    if seconds == 0:
        raise ValueError(f"{text!r} is zero: a duration must be longer than zero ({EXAMPLES})")
    return timedelta(seconds=seconds)


def _seconds(compact: str) -> int:
    return sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(compact))


def format_duration(delta: timedelta, exact: bool = False) -> str:
    """Format a timedelta compactly ("1h05m", "4m30s", "expired"); `exact` keeps the
    seconds that the compact form drops ("1h05m30s"), for limits compared to the second."""
    total = int(delta.total_seconds())
    if total <= 0:
        return "expired"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    tail = f"{seconds:02d}s" if exact and seconds else ""
    if days:
        return f"{days}d{hours:02d}h" + (f"{minutes:02d}m{tail}" if exact and rest else "")
    if hours:
        return f"{hours}h{minutes:02d}m{tail}"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"
