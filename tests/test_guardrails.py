"""The cost guardrails around a session: the gate before apply (budget, policy), the meter
in `labrun status`, the reaper's budget teardown, and `labrun extend` within max_ttl.

Labs whose module uses the hashicorp/aws provider cannot be planned on this machine (no
provider registry): those tests run Terraform as LABRUN_TERRAFORM = the stand-in
tests/fixtures/fake_terraform.py, which answers `show -json` with a committed fixture and
records every command, so that a test can prove `apply` never ran. Builtin-only labs run
the real embedded Terraform.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from labrun import localcloud, reaper, ttl
from labrun.errors import BadInput
from labrun.home import owner as home_owner
from labrun.meter import Meter, meter
from labrun.session import Session, parse_rfc3339, utcnow
from labrun.store import SCHEMA_VERSION, SessionStore
from labrun.sweep import Found
from testing.cli import labrun, labrun_json

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLANS = FIXTURES / "plans"
LABS = ["--labs-dir", str(FIXTURES / "labs")]
BENCH = ["--labs-dir", str(Path(__file__).resolve().parent.parent / "benchmarks" / "labs")]
# instance + root + the public IPv4 of a default-VPC instance + bucket
GPU_HOURLY = 0.526 + 8 * 0.08 / 730 + 0.005 + (0.023 / 730 + 0.005 + 0.004)


@pytest.fixture
def fake_terraform(tmp_path: Path) -> dict[str, str]:
    """The environment that makes labrun run the stand-in Terraform on gpu-training.json."""
    script = tmp_path / "bin" / "terraform"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {FIXTURES / "fake_terraform.py"} "$@"\n')
    script.chmod(0o755)
    return {
        "LABRUN_TERRAFORM": str(script),
        "FAKE_TERRAFORM_PLAN": str(PLANS / "gpu-training.json"),
        "FAKE_TERRAFORM_LOG": str(tmp_path / "terraform-calls.log"),
    }


def calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_TERRAFORM_LOG"])
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_a_start_over_budget_is_refused_before_anything_exists(
    fake_terraform: dict[str, str],
) -> None:
    refused = labrun_json("start", "gpu-training", *LABS, env=fake_terraform, expect=2)
    message = refused["error"]
    # g4dn.xlarge + its root volume + the public IPv4 its default-VPC subnet assigns
    assert "the estimate for 2h is $1.08, over the budget of $1.00" in message
    assert "aws_instance.trainer $0.53/h" in message and "nothing was left running" in message
    assert calls(fake_terraform) == ["init", "plan", "show"]  # never `apply`
    [session] = labrun_json("status", "--all")["sessions"]
    assert session["status"] == "failed" and session["resources"] == []
    assert session["hourly_usd"] == 0.0 and session["budget_usd"] == 1.0
    assert not localcloud.status().running  # the cloud it started for the plan is stopped too
    store = SessionStore.open()
    [estimate] = [e for e in store.events(session["session"]) if e["event"] == "estimate"]
    assert estimate["hourly_usd"] == pytest.approx(GPU_HOURLY, abs=1e-6)


def test_a_bigger_budget_or_a_shorter_ttl_lets_it_start_and_the_meter_runs(
    fake_terraform: dict[str, str],
) -> None:
    started = labrun_json("start", "gpu-training", *LABS, "--budget", "2", env=fake_terraform)
    assert started["status"] == "active" and "apply" in calls(fake_terraform)
    assert started["hourly_usd"] == pytest.approx(GPU_HOURLY, abs=1e-6)
    assert started["budget_usd"] == 2.0 and started["accrued_usd"] >= 0
    [listed] = labrun_json("status")["sessions"]
    assert listed["hourly_usd"] == started["hourly_usd"] and listed["budget_usd"] == 2.0
    assert labrun_json("stop", env=fake_terraform)["ok"]
    shorter = labrun_json("start", "gpu-training", *LABS, "--ttl", "1h", env=fake_terraform)
    assert shorter["status"] == "active" and shorter["budget_usd"] == 1.0
    assert labrun_json("stop", env=fake_terraform)["ok"]


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ("forbidden.json", "aws_nat_gateway.egress (nat-gateway): NAT gateways bill by the hour"),
        ("unpriced.json", "labrun cannot price aws_db_instance.legacy"),
    ],
)
def test_a_plan_the_policy_forbids_or_cannot_price_is_refused(
    fake_terraform: dict[str, str], plan: str, expected: str
) -> None:
    env = {**fake_terraform, "FAKE_TERRAFORM_PLAN": str(PLANS / plan)}
    proc = labrun("start", "gpu-training", *LABS, env=env)
    assert proc.returncode == 2 and expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "apply" not in calls(env)


def test_a_builtin_only_lab_pays_no_plan_and_records_its_budget() -> None:
    started = labrun_json("start", "bench-builtin", *BENCH, "--budget", "0.5")
    assert started["hourly_usd"] == 0.0 and started["budget_usd"] == 0.5
    log = Path(started["workspace"]).parent / "logs" / "terraform.log"
    commands = [line for line in log.read_text().splitlines() if line.startswith("$ terraform")]
    assert commands and all(
        " plan " not in c and not c.startswith("$ terraform plan") for c in commands
    )
    assert any("apply -auto-approve" in c for c in commands)
    assert labrun_json("stop")["ok"]


def test_a_negative_budget_is_a_usage_error() -> None:
    proc = labrun("start", "bench-builtin", *BENCH, "--budget", "-1")
    assert proc.returncode == 2 and "--budget" in proc.stderr


def insert(store: SessionStore, lab: str = "lab", lived: timedelta = timedelta(hours=1)) -> Session:
    """A session record that started `lived` ago and holds nothing (for the meter and reaper)."""
    now = utcnow()
    session = Session(
        id=f"s{len(store.sessions()):07d}", lab=lab, lab_dir=Path("/labs/lab"), target="local",
        status="active", created_at=now - lived, expires_at=now + timedelta(hours=1),
        owner="someone-else", workdir=Path("/nowhere"),
    )  # fmt: skip
    assert store.insert(session)
    store.update(session.id, status="active")
    return store.get(session.id)


def test_the_meter_is_the_hourly_estimate_times_the_time_lived() -> None:
    store = SessionStore.open()
    session = insert(store, lived=timedelta(minutes=90))
    store.update(session.id, hourly_usd=0.4, budget_usd=1.0)
    cost = meter(store, session)
    assert cost.accrued_usd == pytest.approx(0.6, abs=0.01) and not cost.budget_reached
    # A local session: the figures are AWS's, and it costs nothing here.
    assert cost.text() == "$0 here (AWS: $0.60 of $1.00)"
    assert Meter(0.4, 1.0, hours=1.5).text() == "$0.60 of $1.00"  # on AWS
    [listed] = labrun_json("status")["sessions"]
    assert listed["accrued_usd"] == pytest.approx(0.6, abs=0.01) and listed["budget_usd"] == 1.0
    assert listed["cost_here_usd"] == 0.0
    table = " ".join(labrun("status", env={"COLUMNS": "200"}).stdout.split())
    assert "$0 here" in table and "$0.60 of" in table and "cost (est.)" in table


def test_a_session_priced_before_the_meter_existed_shows_no_cost() -> None:
    assert Meter(None, None).text() == "-" and Meter(None, None).to_json()["accrued_usd"] is None
    assert not Meter(0.0, 0.0, hours=5).budget_reached  # a free lab with budget 0 runs on
    assert Meter(0.5, 1.0, hours=2).budget_reached


def test_the_reaper_tears_down_a_session_that_reached_its_budget(owner: str) -> None:
    started = labrun_json("start", "bench-builtin", *BENCH)
    store = SessionStore.open()
    store.update(started["session"], hourly_usd=3600.0, budget_usd=0.5)  # $1 a second
    time.sleep(1.1)  # the store counts whole seconds
    free = insert(store)  # priced $0 with a $0 budget: never "reached"
    store.update(free.id, hourly_usd=0.0, budget_usd=0.0)
    assert [(s.id, why) for s, why in reaper.due_sessions(store, None)] == [
        (started["session"], "budget reached")
    ]
    report = reaper.reap(store, owner)
    assert report.sessions[0]["reason"] == "budget reached" and report.sessions[0]["ok"]
    assert store.get(started["session"]).status == "ended"


def test_extend_within_max_ttl_and_beyond() -> None:
    started = labrun_json("start", "bench-builtin", *BENCH, "--ttl", "20m")  # max_ttl 1h
    session = started["session"]
    extended = labrun_json("extend", session, "30m")
    assert parse_rfc3339(extended["expires_at"]) - parse_rfc3339(started["expires_at"]) == (
        timedelta(minutes=30)
    )
    proc = labrun("extend", session, "15m")
    assert proc.returncode == 2
    assert "cannot extend" in proc.stderr
    assert "a session of bench-builtin lives at most 1h00m (its max_ttl)" in proc.stderr
    assert "already has 50m00s of it; extend it by at most 10m00s" in proc.stderr
    assert labrun_json("status", session)["sessions"][0]["expires_at"] == extended["expires_at"]
    assert "now expires at" in labrun("extend", session, "10m").stdout
    assert "it cannot be extended any more" in labrun("extend", session, "1m").stderr
    labrun_json("stop", session)


def test_extend_refuses_past_the_budget_an_expired_or_an_ended_session() -> None:
    started = labrun_json("start", "bench-builtin", *BENCH, "--ttl", "20m")
    store = SessionStore.open()
    session = started["session"]
    store.update(session, hourly_usd=1.0, budget_usd=0.5)
    with pytest.raises(BadInput, match=r"living 40m00s at \$1.00/h would cost \$0.67, over"):
        ttl.extend(store, session, "20m")
    with pytest.raises(BadInput, match="not a duration"):
        ttl.extend(store, session, "soon")
    store.update(session, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(BadInput, match="has expired"):
        ttl.extend(store, session, "5m")
    store.update(session, expires_at=utcnow() + timedelta(minutes=5))
    labrun_json("stop", session)
    proc = labrun("extend", session, "5m")
    assert proc.returncode == 2 and "is ended: only an active one is extended" in proc.stderr


def test_an_extended_session_is_not_reaped_by_its_old_expires_at_mark() -> None:
    store = SessionStore.open()
    session = insert(store)
    # A resource of this installation whose labrun:expires-at mark passed long ago, but
    # whose session (extended) is still live in the store.
    mine = Found("aws:sqs:queue", "q", session.id, home_owner(), "2000-01-01T00:00:00Z")
    assert reaper._orphan_reason(store, session.id, [mine]) is None  # the store's expiry wins


def test_status_warns_when_less_than_ten_minutes_remain() -> None:
    labrun_json("start", "bench-builtin", *BENCH, "--ttl", "5m")
    assert "has less than 10 minutes left" in labrun("status").stdout
    labrun_json("stop")


def test_a_store_of_an_older_schema_gains_the_meter_columns_and_hint_levels(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "sessions.db"
    store = SessionStore(path)
    session = insert(store)
    with sqlite3.connect(path) as db:  # what a store made by the previous labrun looks like
        later = ["holder_started", "lease_generation", "identity", "hard_expires_at"]
        for column in ["hourly_usd", "budget_usd", *later, "installation"]:  # later ones too
            db.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
        db.execute("DROP TABLE hint_levels")
        db.execute("PRAGMA user_version = 1")
    reopened = SessionStore(path)
    assert reopened.meter(session.id) == (None, None)
    reopened.update(session.id, hourly_usd=0.25, budget_usd=1.0)
    assert reopened.meter(session.id) == (0.25, 1.0)
    assert reopened.hint_levels(session.id) == {}
    assert reopened.reveal_hints(session.id, "task", 2) == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def declared_cost_lab(tmp_path: Path, test_labs: Path, costs: str) -> list[str]:
    """A copy of the builtin-only slow-check lab whose scripts would create `costs`."""
    import shutil

    labs = tmp_path / "declared"
    shutil.copytree(test_labs / "slow-check", labs / "slow-check")
    manifest = labs / "slow-check" / "lab.toml"
    text = manifest.read_text()
    head, tasks = text.split("[[tasks]]", 1)
    manifest.write_text(f"{head}{costs}\n[[tasks]]{tasks}")
    return ["--labs-dir", str(labs)]


def test_costs_a_lab_declares_are_priced_and_held_to_the_budget(
    tmp_path: Path, test_labs: Path
) -> None:
    labs = declared_cost_lab(
        tmp_path, test_labs,
        '[[costs]]\ntype = "aws_instance"\ncount = 2\nvalues = { instance_type = "t3.micro" }\n',
    )  # fmt: skip
    plan = labrun_json("plan", "slow-check", *labs)
    addresses = [r["address"] for r in plan["resources"]]
    assert "lab.toml costs[0] aws_instance[1]" in addresses
    hourly = [r["hourly_usd"] for r in plan["resources"] if r["address"].startswith("lab.toml")]
    assert len(hourly) == 2 and all(h >= 0.0104 for h in hourly)  # t3.micro, plus its root disk
    assert plan["hourly_usd"] == pytest.approx(sum(hourly), abs=1e-5) and plan["unpriced"] == []
    refused = labrun_json("start", "slow-check", *labs, "--budget", "0.001", expect=2)
    # t3.micro, its root disk and the public IPv4 of a default-VPC instance
    assert "lab.toml costs[0] aws_instance[0] $0.02/h" in refused["error"]
    [session] = labrun_json("status", "--all")["sessions"]
    assert session["status"] == "failed" and session["resources"] == []  # nothing applied
    started = labrun_json("start", "slow-check", *labs, "--budget", "1")
    assert started["hourly_usd"] == pytest.approx(sum(hourly), abs=1e-5)
    assert labrun_json("stop")["ok"] is True


def test_a_declared_cost_is_checked_like_the_rest_of_lab_toml(
    tmp_path: Path, test_labs: Path
) -> None:
    labs = declared_cost_lab(tmp_path, test_labs, '[[costs]]\ntype = "aws_eip"\ncount = 0\n')
    proc = labrun("plan", "slow-check", *labs)
    assert proc.returncode == 2
    assert "lab.toml: costs[0].count: must be an integer >= 1, not 0" in proc.stderr
