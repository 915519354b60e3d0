"""The price table shipped with labrun: `data/prices.json`, with its source and date.

Plain data, looked up by section and key; a miss is None, never $0. The rules that turn a
planned resource into a price are in pricing.py. Kept apart so that `labrun start` of a
lab with only free resources reads the free list without loading the rules.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).parent / "data" / "prices.json"


class PriceTable:
    """The price table: sections of `data/prices.json`, looked up with None for a miss."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.about: dict[str, Any] = data["about"]
        self.hours_per_month = float(self.about["hours_per_month"])

    def section(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.data.get(name) or {}
        return found

    def number(self, section: str, *keys: str) -> float | None:
        """A price in `section` under nested `keys` (None when any of them is missing)."""
        value: Any = self.section(section)
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return float(value) if isinstance(value, int | float) else None

    def free_note(self, resource_type: str) -> str | None:
        """Why this type costs nothing, or None when it is not known to be free."""
        free = self.section("free")
        if resource_type in free["types"]:
            return str(free["types"][resource_type])
        for prefix, why in free["prefixes"].items():
            if resource_type.startswith(prefix):
                return str(why)
        return None

    def multiplier(self, region: str) -> float | None:
        return self.number("region_multipliers", region)

    def ec2_hourly(self, instance_type: str) -> float | None:
        family, _, size = instance_type.partition(".")
        return self.number("ec2", family, size)

    def public_ipv4_hourly(self) -> float:
        """One public IPv4 address's hour: the same in every region."""
        return float(self.section("public_ipv4")["hourly"])

    def per_hour(self, monthly_usd: float) -> float:
        return monthly_usd / self.hours_per_month


@cache
def load_table() -> PriceTable:
    """The table shipped with labrun (read once per process)."""
    return PriceTable(json.loads(TABLE_PATH.read_text(encoding="utf-8")))
