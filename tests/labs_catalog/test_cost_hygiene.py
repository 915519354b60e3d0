"""The cost-hygiene lab, played like a learner: a real session on the local cloud (moto).

One session serves every scenario: `labrun start` and `labrun stop` run as a learner runs
them (the CLI, --json), the scenarios' checks through the Python API (faster), and the
reference solution's check through the CLI again. Before each scenario, the account is put
back as `labrun start` left it by the lab's own seed.py (destroy, then create: both find the
session's resources by its tags). The stop receipt must say that nothing remains, the
deleted NAT gateway included (see the end of seed.py's destroy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from testing.labsession import LabSession, by_id, statuses

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "cost-hygiene"
SEED = LAB_DIR / "terraform" / "seed.py"
SOLVE = LAB_DIR / "solution" / "solve.py"
TASKS = ["nat-gateway", "instances", "elastic-ips", "volumes", "keep"]
FORGOTTEN = {
    "instance": ["experiment-train-gpu", "experiment-notebook"],
    "volume": ["experiment-scratch", "old-training-cache"],
    "natgateway": ["experiment-nat"],
    "elastic-ip": ["experiment-ip", "experiment-nat-ip"],
}


class Played(LabSession):
    """The lab's session, and what a learner does in it."""

    fresh = True  # as `labrun start` left it: the first scenario needs no reset

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    def seed(self, action: str) -> None:
        env = {
            **self.env,
            "LAB_SESSION": self.session.id,
            "LAB_TAGS": json.dumps(self.session.tags()),
        }
        subprocess.run([sys.executable, str(SEED), action], env=env, check=True, timeout=120)

    def reset(self) -> None:
        self.seed("destroy")
        self.seed("create")

    def ids(self, kind: str) -> dict[str, str]:
        """Name -> id of the session's live resources of `kind`."""
        mine = [{"Name": "tag:labrun:session", "Values": [self.session.id]}]
        if kind == "instance":
            live = {"Name": "instance-state-name", "Values": ["running", "stopped"]}
            reservations = self.ec2.describe_instances(Filters=[*mine, live])["Reservations"]
            items, key = [i for r in reservations for i in r["Instances"]], "InstanceId"
        elif kind == "volume":
            items, key = self.ec2.describe_volumes(Filters=mine)["Volumes"], "VolumeId"
        elif kind == "elastic-ip":
            items, key = self.ec2.describe_addresses(Filters=mine)["Addresses"], "AllocationId"
        else:
            live = {"Name": "state", "Values": ["available"]}
            items = self.ec2.describe_nat_gateways(Filters=[*mine, live])["NatGateways"]
            key = "NatGatewayId"
        found = {}
        for item in items:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            found.setdefault(tags["Name"], item[key])  # root volumes share their instance's Name
        return found

    def remove(self, kind: str, *names: str) -> None:
        ids = self.ids(kind)
        for name in names:
            if kind == "instance":
                self.ec2.terminate_instances(InstanceIds=[ids[name]])
            elif kind == "volume":
                self.ec2.delete_volume(VolumeId=ids[name])
            elif kind == "elastic-ip":
                self.ec2.release_address(AllocationId=ids[name])
            else:
                self.ec2.delete_nat_gateway(NatGatewayId=ids[name])

    def clean_up(self, skip: tuple[str, ...] = ()) -> None:
        """Remove every forgotten resource (NAT gateway first), except the kinds in `skip`."""
        for kind in ("natgateway", "instance", "elastic-ip", "volume"):
            if kind not in skip:
                self.remove(kind, *FORGOTTEN[kind])


ALL_PASS = dict.fromkeys(TASKS, "pass")


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    home = tmp_path_factory.mktemp("labrun-home")
    played = Played.start("cost-hygiene", home, owner="test-owner")
    try:
        yield played
    finally:
        code, receipt = played.stop()
        assert code == 0 and receipt["ok"], receipt
        assert receipt["destroyed"] == ["terraform_data.platform"]
        assert receipt["remaining"] == receipt["swept"] == receipt["unowned"] == []


@pytest.fixture
def learner(played: Played, monkeypatch: pytest.MonkeyPatch) -> Played:
    monkeypatch.setenv("LABRUN_HOME", str(played.home))  # conftest gave this test another one
    if not played.fresh:
        played.reset()
    played.fresh = False
    return played


def test_start_tags_everything_and_marks_what_stays(learner: Played) -> None:
    session = learner.session.id
    reservations = learner.ec2.describe_instances()["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    volumes = learner.ec2.describe_volumes()["Volumes"]
    addresses = learner.ec2.describe_addresses()["Addresses"]
    nats = learner.ec2.describe_nat_gateways()["NatGateways"]
    vpcs = [v for v in learner.ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    made = [*instances, *volumes, *addresses, *nats, *vpcs]
    assert len(instances) == 3 and len(volumes) == 6 and len(addresses) == 3 and len(nats) == 1
    names_kept = set()
    for item in made:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        assert tags["labrun:session"] == session and tags["labrun:owner"] == "test-owner", item
        if tags.get("keep") == "true":
            names_kept.add(tags["Name"])
    assert names_kept == {
        "model-api", "model-api-ip", "feature-store-data", "ml-platform-vpc",
    }  # fmt: skip
    notebook = learner.ids("instance")["experiment-notebook"]
    assert [i["State"]["Name"] for i in instances if i["InstanceId"] == notebook] == ["stopped"]


def test_untouched_work_passes_no_task(learner: Played) -> None:
    code, cli_report = learner.cli_check()
    assert code == 1 and cli_report["score"] == 0
    report = learner.check()
    assert statuses(report) == dict.fromkeys(TASKS, "fail")
    assert report.score == 0 and report.total == 12
    assert all(t.hint for t in report.tasks)
    assert "nothing has been cleaned up yet" in by_id(report)["keep"].message


def test_reference_solution_scores_full(learner: Played) -> None:
    solved = subprocess.run(
        [sys.executable, str(SOLVE), learner.session.id], env=learner.env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    code, report = learner.cli_check()
    assert code == 0 and report["score"] == report["total"] == 12, report
    assert learner.ids("instance") == {"model-api": learner.ids("instance")["model-api"]}


def test_deleting_every_unattached_volume_removes_one_that_must_stay(learner: Played) -> None:
    learner.clean_up(skip=("volume",))
    available = [{"Name": "status", "Values": ["available"]}]
    for volume in learner.ec2.describe_volumes(Filters=available)["Volumes"]:
        learner.ec2.delete_volume(VolumeId=volume["VolumeId"])  # without reading the tags
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {**ALL_PASS, "keep": "fail"}
    assert tasks["keep"].message == "the volume feature-store-data was deleted"
    assert "keep=true" in tasks["keep"].hint
    assert report.score == 9


def test_elastic_ips_forgotten(learner: Played) -> None:
    learner.clean_up(skip=("elastic-ip",))
    report = learner.check()
    elastic_ips = by_id(report)["elastic-ips"]
    assert statuses(report) == {**ALL_PASS, "elastic-ips": "fail"}
    assert "2 of 2 forgotten elastic IPs are still allocated" in elastic_ips.message
    assert "did not release its address experiment-nat-ip" in elastic_ips.hint


def test_nat_gateway_left_holds_its_address(learner: Played) -> None:
    learner.clean_up(skip=("natgateway", "elastic-ip"))
    learner.remove("elastic-ip", "experiment-ip")
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {**ALL_PASS, "nat-gateway": "fail", "elastic-ips": "partial"}
    assert tasks["elastic-ips"].earned == 1.0
    assert "delete the NAT gateway first" in tasks["elastic-ips"].hint


def test_stopping_is_not_terminating(learner: Played) -> None:
    learner.clean_up(skip=("instance",))
    learner.ec2.stop_instances(InstanceIds=[learner.ids("instance")["experiment-train-gpu"]])
    instances = by_id(learner.check())["instances"]
    assert instances.status == "fail"
    assert "stopped, not terminated" in instances.message
    assert "terminate-instances" in instances.hint
    learner.remove("instance", "experiment-notebook")
    instances = by_id(learner.check())["instances"]
    assert instances.status == "partial" and instances.earned == 1.5


def test_releasing_every_address_releases_one_that_must_stay(learner: Played) -> None:
    learner.clean_up()
    learner.remove("elastic-ip", "model-api-ip")
    report = learner.check()
    assert statuses(report) == {**ALL_PASS, "keep": "fail"}
    assert by_id(report)["keep"].message == "the elastic IP model-api-ip was released"


def test_stopping_the_model_api_is_repaired_by_the_hint(learner: Played) -> None:
    learner.clean_up()
    model_api = learner.ids("instance")["model-api"]
    learner.ec2.stop_instances(InstanceIds=[model_api])
    keep = by_id(learner.check())["keep"]
    assert keep.status == "fail" and keep.message == "the instance model-api is stopped"
    assert "start-instances" in keep.hint
    learner.ec2.start_instances(InstanceIds=[model_api])
    assert learner.check().passed


def test_destroy_succeeds_when_everything_is_already_gone(learner: Played) -> None:
    learner.seed("destroy")  # what the scenarios left
    learner.seed("destroy")  # again: nothing left, still a success (check=True)
    assert not any(learner.ids(kind) for kind in FORGOTTEN)
