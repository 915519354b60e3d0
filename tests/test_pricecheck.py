"""`labrun prices check` against recorded Price List offer files (AWS's bulk format)."""

from __future__ import annotations

import copy
from pathlib import Path

from labrun import pricecheck
from labrun.prices import PriceTable, load_table
from testing.cli import labrun, labrun_json

RECORDED = Path(__file__).parent / "fixtures" / "pricelist"
EC2 = str(RECORDED / "AmazonEC2-us-east-1.csv")
RDS = str(RECORDED / "AmazonRDS-us-east-1.json")


def table_with(section: str, group: str, key: str, usd: float) -> PriceTable:
    data = copy.deepcopy(load_table().data)
    data[section][group][key] = usd
    return PriceTable(data)


def test_the_table_matches_the_recorded_ec2_prices() -> None:
    report = pricecheck.check("ec2", EC2)
    # Only Linux, shared-tenancy, on-demand, no-software rows count (the file also has a
    # Windows, a Reserved, a Dedicated, a SQL Web and a capacity-reservation row).
    assert report.compared == 4 and report.differences == []
    assert "ec2.p4d.24xlarge" not in report.missing and "ec2.c5.large" in report.missing


def test_a_stale_price_is_reported_with_both_figures() -> None:
    stale = table_with("ec2", "p4d", "24xlarge", 32.7726)  # the price before June 2025
    report = pricecheck.check("ec2", EC2, table=stale)
    [difference] = report.differences
    assert difference.entry == "ec2.p4d.24xlarge"
    assert (difference.table_usd, difference.aws_usd) == (32.7726, 21.9576)
    assert round(difference.percent) == 49


def test_a_json_offer_file_is_read_too() -> None:
    report = pricecheck.check("rds", RDS)
    assert report.compared == 3 and report.differences == []  # the Multi-AZ row is not used
    stale = pricecheck.check("rds", RDS, table=table_with("rds", "postgres", "db.m5.large", 0.2))
    assert [d.entry for d in stale.differences] == ["rds.postgres.db.m5.large"]


def test_the_command_prints_json_and_exits_1_when_prices_differ(tmp_path: Path) -> None:
    ok = labrun_json("prices", "check", "--section", "ec2", "--offer", EC2)
    assert ok["ok"] is True and ok["sections"][0]["compared"] == 4
    edited = tmp_path / "offer.csv"
    edited.write_text(Path(EC2).read_text().replace('"0.0104000000"', '"0.0116000000"'))
    differ = labrun_json("prices", "check", "--section", "ec2", "--offer", str(edited), expect=1)
    [row] = differ["sections"][0]["differences"]
    assert row == {"entry": "ec2.t3.micro", "table_usd": 0.0104, "aws_usd": 0.0116,
                   "difference_percent": -10.34}  # fmt: skip
    shown = labrun("prices", "check", "--section", "ec2", "--offer", str(edited))
    assert (
        shown.returncode == 1 and "ec2.t3.micro" in shown.stdout and "prices differ" in shown.stdout
    )


def test_an_unreachable_price_list_is_one_line_and_exit_3(tmp_path: Path) -> None:
    proc = labrun("prices", "check", "--section", "ec2", "--offer", "http://127.0.0.1:9/x.csv")
    [line] = proc.stderr.strip().splitlines()
    assert proc.returncode == 3
    assert "cannot read the price list http://127.0.0.1:9/x.csv" in line and "--offer" in line
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("not,a,price,list\n")
    proc = labrun("prices", "check", "--section", "ec2", "--offer", str(garbage))
    assert proc.returncode == 3 and "not a Price List CSV offer file" in proc.stderr
