"""`labrun prices check`: compare labrun's price table with AWS's public Price List files.

AWS publishes every on-demand price as bulk "offer files", one per service and region
(`https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<OfferCode>/current/<region>/
index.csv`, or `index.json`). The CSV form is read row by row, so even EC2's file (several
GB) needs little memory. Each section of the table that can be checked is one entry of
`CHECKS`: which offer file it needs, which rows are its on-demand list prices, and the
table entry each row prices.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from labrun.errors import LabrunError
from labrun.prices import PriceTable, load_table

OFFER_URL = (
    "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.csv"
)
TOLERANCE = 0.005  # relative: AWS lists 10 decimals, the table rounds to 4 significant ones
Row = dict[str, str]


@dataclass(frozen=True)
class Check:
    """One section of the table and the offer file that prices it."""

    offer: str  # the Price List offer code, e.g. "AmazonEC2"
    entry: Callable[[Row], tuple[str, ...] | None]  # the table keys a row prices, or None
    description: str


def _ec2_entry(row: Row) -> tuple[str, ...] | None:
    wanted = {
        "Product Family": "Compute Instance", "Tenancy": "Shared", "Operating System": "Linux",
        "Pre Installed S/W": "NA", "CapacityStatus": "Used",
        "License Model": "No License required",
    }  # fmt: skip
    if any(row.get(k) != v for k, v in wanted.items()):
        return None
    family, _, size = row.get("Instance Type", "").partition(".")
    return ("ec2", family, size) if size else None


RDS_ENGINES = {
    "MySQL": "mysql", "MariaDB": "mariadb", "PostgreSQL": "postgres",
    "Aurora MySQL": "aurora-mysql", "Aurora PostgreSQL": "aurora-postgresql",
}  # fmt: skip


def _rds_entry(row: Row) -> tuple[str, ...] | None:
    engine = RDS_ENGINES.get(row.get("Database Engine", ""))
    if row.get("Product Family") != "Database Instance" or engine is None:
        return None
    if row.get("Deployment Option") != "Single-AZ":
        return None
    return ("rds", engine, row.get("Instance Type", ""))


CHECKS: dict[str, Check] = {
    "ec2": Check("AmazonEC2", _ec2_entry, "EC2 on-demand Linux, shared tenancy"),
    "rds": Check("AmazonRDS", _rds_entry, "RDS on-demand single-AZ instance hour"),
}


@dataclass(frozen=True)
class Difference:
    entry: str  # e.g. "ec2.p4d.24xlarge"
    table_usd: float
    aws_usd: float

    @property
    def percent(self) -> float:
        return (self.table_usd - self.aws_usd) / self.aws_usd * 100 if self.aws_usd else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry, "table_usd": self.table_usd, "aws_usd": self.aws_usd,
            "difference_percent": round(self.percent, 2),
        }  # fmt: skip


@dataclass
class Report:
    section: str
    source: str
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the table, not in the offer file

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "source": self.source,
            "compared": self.compared,
            "differences": [d.to_json() for d in self.differences],
            "missing": self.missing,
        }


def check(section: str, source: str | None = None, region: str | None = None,
          table: PriceTable | None = None) -> Report:  # fmt: skip
    """Compare one section of the table with an offer file (a path or a URL; default:
    AWS's current file for the table's base region)."""
    if section not in CHECKS:
        raise LabrunError(f"no check for section {section!r} (known: {', '.join(CHECKS)})")
    table = table or load_table()
    spec = CHECKS[section]
    region = region or str(table.about["base_region"])
    source = source or OFFER_URL.format(offer=spec.offer, region=region)
    listed = _list_prices(spec, _rows(source), region)
    report = Report(section, source)
    for keys, table_usd in _table_entries(table, section):
        name = ".".join(keys)
        aws_usd = listed.get(keys)
        if aws_usd is None:
            report.missing.append(name)
            continue
        report.compared += 1
        if abs(table_usd - aws_usd) > TOLERANCE * aws_usd:
            report.differences.append(Difference(name, table_usd, aws_usd))
    return report


def _table_entries(table: PriceTable, section: str) -> Iterator[tuple[tuple[str, ...], float]]:
    for group, prices in table.section(section).items():
        if group.startswith("_") or not isinstance(prices, dict):
            continue
        for key, usd in prices.items():
            if isinstance(usd, int | float):
                yield (section, group, key), float(usd)


def _list_prices(spec: Check, rows: Iterable[Row], region: str) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for row in rows:
        if row.get("TermType") != "OnDemand" or row.get("Unit") != "Hrs":
            continue
        if row.get("Region Code", region) != region:
            continue
        keys = spec.entry(row)
        if keys is None:
            continue
        try:
            usd = float(row.get("PricePerUnit", ""))
        except ValueError:
            continue
        if usd > 0:
            found[keys] = usd
    return found


def _rows(source: str) -> Iterator[Row]:
    """The offer file's price rows, as CSV columns (a JSON offer file is flattened to them)."""
    with _open(source) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        if source.rstrip("/").endswith(".json"):
            yield from _json_rows(json.load(text))
            return
        yield from _csv_rows(text)


def _open(source: str) -> IO[bytes]:
    try:
        if "://" in source:
            return urllib.request.urlopen(source, timeout=30)  # type: ignore[no-any-return]
        return Path(source).open("rb")
    except (OSError, ValueError) as exc:
        raise LabrunError(
            f"cannot read the price list {source}: {getattr(exc, 'reason', exc)} "
            "(download it where AWS can be reached and pass --offer FILE)"
        ) from None


def _csv_rows(text: IO[str]) -> Iterator[Row]:
    reader = csv.reader(text)
    for header in reader:  # metadata lines ("FormatVersion", ...) come before the columns
        if header and header[0] == "SKU":
            break
    else:
        raise LabrunError("not a Price List CSV offer file: no SKU header row")
    for values in reader:
        yield dict(zip(header, values, strict=False))


def _json_rows(document: dict[str, Any]) -> Iterator[Row]:
    names = {"instanceType": "Instance Type", "tenancy": "Tenancy",
             "operatingSystem": "Operating System", "preInstalledSw": "Pre Installed S/W",
             "capacitystatus": "CapacityStatus", "licenseModel": "License Model",
             "regionCode": "Region Code", "databaseEngine": "Database Engine",
             "deploymentOption": "Deployment Option"}  # fmt: skip
    products = document.get("products")
    if not isinstance(products, dict):
        raise LabrunError("not a Price List JSON offer file: no products")
    on_demand = (document.get("terms") or {}).get("OnDemand") or {}
    for sku, product in products.items():
        attributes = product.get("attributes") or {}
        row = {names[k]: str(v) for k, v in attributes.items() if k in names}
        row["Product Family"] = str(product.get("productFamily", ""))
        for term in (on_demand.get(sku) or {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                usd = (dimension.get("pricePerUnit") or {}).get("USD")
                unit = str(dimension.get("unit"))
                yield {**row, "TermType": "OnDemand", "Unit": unit, "PricePerUnit": str(usd)}
