"""Reading plans, and `labrun plan`: real embedded Terraform for builtin labs, committed
`terraform show -json` fixtures for provider-based ones (tests/fixtures/plans/README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from labrun import localcloud
from labrun.catalog import all_labs, find_lab
from labrun.errors import BadInput
from labrun.plan import load_plan_file, plan_lab, read_plan
from labrun.tfmodule import inspect_module
from testing.cli import labrun, labrun_json

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLANS = FIXTURES / "plans"
FIXTURE_LABS = FIXTURES / "labs"
BENCH_LABS = Path(__file__).resolve().parent.parent / "benchmarks" / "labs"
ESTIMATE_KEYS = {"hourly_usd", "ttl_hours", "ttl_usd", "resources", "unpriced", "violations"}
ROW_KEYS = {"address", "type", "hourly_usd", "priced", "note"}


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PLANS / name).read_text())
    return document


def test_a_plan_is_read_with_regions_from_variables_modules_and_counts() -> None:
    resources = {r.address: r for r in read_plan(fixture("ml-platform.json"))}
    assert "aws_instance.api[1]" in resources and "aws_subnet.public[0]" in resources
    assert resources["aws_instance.api[0]"].region == "eu-west-1"  # provider region = var.region
    assert resources["module.storage.aws_s3_bucket.this"].region == "eu-west-1"
    assert resources["aws_instance.api[0]"].values["instance_type"] == "t3.medium"
    assert not resources["aws_instance.api[0]"].known("id")


def test_a_provider_alias_brings_its_own_region() -> None:
    resources = {r.address: r for r in read_plan(fixture("forbidden.json"), "us-east-1")}
    assert resources["aws_sqs_queue.tokyo"].region == "ap-northeast-1"
    assert resources["aws_nat_gateway.egress"].region == "us-east-1"


def test_deleted_resources_and_data_sources_are_not_priced_and_own_regions_win() -> None:
    def change(address: str, actions: list[str], mode: str = "managed") -> dict[str, Any]:
        after = None if actions == ["delete"] else {"region": "eu-west-1"}
        return {"address": address, "mode": mode, "type": "aws_sqs_queue", "name": "q",
                "change": {"actions": actions, "after": after}}  # fmt: skip

    document = {
        "format_version": "1.2",
        "resource_changes": [
            change("aws_sqs_queue.gone", ["delete"]), change("aws_sqs_queue.kept", ["no-op"]),
            change("aws_sqs_queue.swap", ["delete", "create"]),
            change("data.aws_sqs_queue.q", ["read"], mode="data"),
        ],
    }  # fmt: skip
    resources = read_plan(document, "us-east-1")
    assert [r.address for r in resources] == ["aws_sqs_queue.kept", "aws_sqs_queue.swap"]
    assert {r.region for r in resources} == {"eu-west-1"}  # aws provider 6: per-resource region


def test_a_state_document_is_read_too() -> None:
    document = {
        "format_version": "1.0",
        "values": {"root_module": {
            "resources": [{"address": "aws_sqs_queue.q", "mode": "managed",
                           "type": "aws_sqs_queue", "values": {"name": "q"}}],
            "child_modules": [{"resources": [{"address": "module.m.aws_eip.e", "mode": "managed",
                                              "type": "aws_eip", "values": {}}]}],
        }},
    }  # fmt: skip
    found = read_plan(document, "us-east-1")
    assert [(r.address, r.region) for r in found] == [
        ("aws_sqs_queue.q", "us-east-1"), ("module.m.aws_eip.e", "us-east-1")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "not JSON"),
        ("[1, 2]", "not a `terraform show -json` document"),
        ('{"resource_changes": []}', "no format_version"),
        ('{"format_version": "2.0"}', "labrun reads format 1.x only"),
    ],
)
def test_a_file_that_is_not_a_plan_is_refused_in_one_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(BadInput, match=re.escape(problem)):
        load_plan_file(path)
    proc = labrun("plan", "--from-json", str(path))
    assert proc.returncode == 2 and problem in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_plan_from_json_prints_the_issues_json_shape() -> None:
    result = labrun_json("plan", "--from-json", str(PLANS / "ml-platform.json"), "--ttl", "3h")
    assert set(result) == ESTIMATE_KEYS
    assert all(set(row) == ROW_KEYS for row in result["resources"])
    assert result["ttl_hours"] == 3 and result["unpriced"] == [] and result["violations"] == []
    assert result["ttl_usd"] == pytest.approx(3 * result["hourly_usd"], abs=1e-5)
    assert result["hourly_usd"] == pytest.approx(
        sum(row["hourly_usd"] for row in result["resources"]), abs=1e-5
    )
    notes = {row["address"]: row["note"] for row in result["resources"]}
    assert "eu-west-1: us-east-1 x 1.115" in notes["aws_instance.api[0]"]


def test_unpriced_resources_are_listed_with_a_null_price_never_zero() -> None:
    result = labrun_json("plan", "--from-json", str(PLANS / "unpriced.json"))
    assert result["unpriced"] == [
        "aws_db_instance.legacy", "aws_opensearch_domain.search", "aws_instance.exotic",
        "aws_instance.zurich",
    ]  # fmt: skip
    rows = {row["address"]: row for row in result["resources"]}
    assert rows["aws_opensearch_domain.search"]["hourly_usd"] is None
    assert not rows["aws_opensearch_domain.search"]["priced"]
    assert result["hourly_usd"] == pytest.approx(rows["aws_sqs_queue.known"]["hourly_usd"])
    assert result["ttl_hours"] == 2  # the default without a lab


def test_plan_exits_1_when_the_policy_refuses_and_shows_why() -> None:
    proc = labrun("plan", "--from-json", str(PLANS / "forbidden.json"))
    assert proc.returncode == 1
    assert "refused: aws_nat_gateway.egress (nat-gateway)" in " ".join(proc.stdout.split())


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "give either LAB or --from-json"),
        (["python-engineering", "--from-json", "x.json"], "give either LAB or --from-json"),
        (["no-such-lab"], "no lab called 'no-such-lab'"),
        (["python-engineering", "--ttl", "9h"], "longer than python-engineering's max_ttl"),
        (["--from-json", str(PLANS / "ml-platform.json"), "--ttl", "soon"], "not a duration"),
    ],
)
def test_plan_usage_errors_are_one_line_and_exit_2(args: list[str], problem: str) -> None:
    proc = labrun("plan", *args)
    assert proc.returncode == 2, proc.stderr
    assert problem in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_every_bundled_lab_is_priced_by_a_real_plan_with_no_unpriced_row() -> None:
    labs, broken = all_labs()
    assert labs and not broken
    for lab in labs:
        info = inspect_module(lab.terraform_dir)
        assert info.builtin_only, lab.id  # nothing priced: `start` never pays a plan
        assert info.resource_types == {"terraform_data"}, lab.id
        result = labrun_json("plan", lab.id)
        assert result["resources"], lab.id  # the real embedded Terraform planned something
        assert result["unpriced"] == [] and result["violations"] == [], (lab.id, result)
        assert result["ttl_hours"] == lab.manifest.ttl.total_seconds() / 3600


def test_a_real_plan_sets_the_labrun_variables_like_a_start_and_leaves_nothing(
    labrun_home: Path, owner: str
) -> None:
    lab = find_lab("s3-hello", Path(__file__).parent / "labs")
    document = plan_lab(lab, "local", lab.manifest.ttl)
    variables = {k: v["value"] for k, v in document["variables"].items()}
    assert re.fullmatch(r"[a-z][a-z0-9]{7}", variables["labrun_session"])
    assert variables["labrun_tags"]["labrun:lab"] == "s3-hello"
    assert variables["labrun_tags"]["labrun:owner"] == owner
    assert [c["address"] for c in document["resource_changes"]] == ["terraform_data.bucket"]
    assert labrun_json("status", "--all")["sessions"] == []  # no session recorded
    assert not localcloud.status().running  # a plan does not start the local cloud
    assert not (labrun_home / "sessions").exists() or not any((labrun_home / "sessions").iterdir())


def test_a_real_plan_of_counted_resources_and_its_ttl() -> None:
    result = labrun_json("plan", "bench-builtin", "--labs-dir", str(BENCH_LABS), "--ttl", "45m")
    assert [r["address"] for r in result["resources"]] == [
        f"terraform_data.step[{i}]" for i in range(5)
    ]
    assert result["ttl_hours"] == 0.75 and result["hourly_usd"] == 0.0


def test_a_plan_terraform_rejects_is_one_line(tmp_path: Path) -> None:
    lab = tmp_path / "labs" / "broken-tf"
    (lab / "terraform").mkdir(parents=True)
    (lab / "lab.toml").write_text(
        'id = "broken-tf"\ntitle = "t"\nsummary = "s"\n[[tasks]]\nid = "a"\ntitle = "a"\n'
    )
    (lab / "README.md").write_text("# t\n")
    (lab / "check.py").write_text("")
    (lab / "terraform" / "main.tf").write_text(
        'resource "terraform_data" "x" {\n  input = var.nope\n}\n'
    )
    proc = labrun("plan", "broken-tf", "--labs-dir", str(tmp_path / "labs"))
    assert proc.returncode == 3
    assert "terraform plan failed" in proc.stderr and "undeclared input variable" in proc.stderr
