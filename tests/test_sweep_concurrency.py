"""Teardown at the speed of the API: concurrent deletes and listings, concurrent reaping.

No timing is asserted. Concurrency shows in what cannot happen one call at a time (a
barrier that needs several jobs at once, calls a strict AWS saw in flight together), and
its limits in what the strict AWS counted (never more of a service in flight than its
limit, never a dependent's delete after its parent's began).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from labrun import lanes
from labrun.session import utcnow
from labrun.store import SessionStore
from labrun.sweep import Marks, sweep
from labrun.sweep.aws import AwsSweeper
from testing.cli import labrun_json
from testing.strict_aws import StrictAws

MARKS = Marks("s1", "o1")
TAGS = {"labrun:session": "s1", "labrun:owner": "o1"}
TAG_LIST = [{"Key": key, "Value": value} for key, value in TAGS.items()]
POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'  # noqa: E501


class Flight:
    """Counts the jobs of each lane in flight, and the most there ever were."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}

    def job(self, lane: str, barrier: threading.Barrier | None) -> lanes.Job[str]:
        def call() -> str:
            with self.lock:
                self.now[lane] = self.now.get(lane, 0) + 1
                self.most[lane] = max(self.most.get(lane, 0), self.now[lane])
            try:
                if barrier is not None:
                    barrier.wait()  # passes only when `parties` jobs are in flight at once
                return lane
            finally:
                with self.lock:
                    self.now[lane] -= 1

        return lanes.Job(lane, call)


def test_a_lane_runs_up_to_its_limit_at_once_and_never_more() -> None:
    flight = Flight()
    together = threading.Barrier(3, timeout=30)  # one job at a time would break it
    jobs = [flight.job("s3", together) for _ in range(9)] + [flight.job("iam", None)] * 4
    results = lanes.run(jobs, {"s3": 3, "iam": 1}, workers=8)
    assert results == ["s3"] * 9 + ["iam"] * 4  # each job's own result, in the jobs' order
    assert flight.most == {"s3": 3, "iam": 1}


def test_a_failing_job_is_returned_not_raised_and_the_others_run() -> None:
    def boom() -> str:
        raise RuntimeError("denied")

    jobs = [lanes.Job("a", lambda: "one"), lanes.Job("a", boom), lanes.Job("b", lambda: "two")]
    results = lanes.run(jobs, workers=4)
    assert results[0] == "one" and results[2] == "two"
    assert isinstance(results[1], RuntimeError)


def test_deletes_of_a_service_overlap_up_to_its_limit(strict_aws: StrictAws) -> None:
    for i in range(10):
        strict_aws.moto("sqs").create_queue(QueueName=f"q{i}", tags=TAGS)
    for i in range(6):
        strict_aws.moto("logs").create_log_group(logGroupName=f"/g/{i}", tags=TAGS)
    strict_aws.latency(0.1)  # a call takes a while, as on AWS: overlaps show

    sweeper = AwsSweeper(strict_aws.env, limits={"sqs": 3, "logs": 2})
    result = sweep(sweeper, MARKS)

    assert not result.remaining and not result.failed and len(result.removed) == 16
    assert strict_aws.peak("sqs") == 3  # listings, confirmations and deletes alike
    assert strict_aws.peak("logs") == 2
    assert strict_aws.peak("sqs:DeleteQueue") >= 2 and strict_aws.peak("logs:DeleteLogGroup") >= 2


def test_a_level_begins_only_once_the_level_before_it_has_ended(strict_aws: StrictAws) -> None:
    ec2 = strict_aws.moto("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    spec = [{"ResourceType": "security-group", "Tags": TAG_LIST}]
    group = ec2.create_security_group(
        GroupName="web", Description="web", VpcId=vpc, TagSpecifications=spec
    )["GroupId"]
    ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=3, MaxCount=3, SecurityGroupIds=[group],
        TagSpecifications=[{"ResourceType": "instance", "Tags": TAG_LIST}],
    )  # fmt: skip
    iam = strict_aws.moto("iam")
    policy = iam.create_policy(PolicyName="p", PolicyDocument=POLICY, Tags=TAG_LIST)
    for i in range(3):
        iam.create_user(UserName=f"u{i}", Tags=TAG_LIST)
        iam.attach_user_policy(UserName=f"u{i}", PolicyArn=policy["Policy"]["Arn"])
    strict_aws.latency(0.05)

    result = sweep(AwsSweeper(strict_aws.env), MARKS)

    assert not result.remaining and not result.failed and len(result.removed) == 8
    assert result.passes == 1  # nothing refused: no DependencyViolation, no DeleteConflict
    calls = strict_aws.calls
    terminations = [c for c in calls if c.action == "ec2:TerminateInstances"]
    group_deletes = [c for c in calls if c.action == "ec2:DeleteSecurityGroup"]
    user_deletes = [c for c in calls if c.action == "iam:DeleteUser"]
    policy_deletes = [c for c in calls if c.action == "iam:DeletePolicy"]
    assert len(terminations) == 3 and len(user_deletes) == 3  # one delete each, at once
    assert strict_aws.peak("ec2:TerminateInstances") >= 2 and strict_aws.peak("iam:DeleteUser") >= 2
    assert max(c.ended for c in terminations) < min(c.began for c in group_deletes)
    assert max(c.ended for c in user_deletes) < min(c.began for c in policy_deletes)


@pytest.mark.usefixtures("labrun_home")
def test_the_reaper_tears_down_sessions_at_once_each_under_its_own_lease(
    test_labs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = [
        labrun_json("start", "reap-together", "--labs-dir", str(test_labs), "--new")["session"]
        for _ in range(3)
    ]
    store = SessionStore.open()
    for session in sessions:
        store.update(session, expires_at=utcnow() - timedelta(minutes=1))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    monkeypatch.setenv("REAP_BARRIER", str(barrier))  # read by the lab's destroy

    report = labrun_json("reap")

    assert report["ok"] and {s["session"] for s in report["sessions"]} == set(sessions)
    seen = {s: (barrier / f"{s}.seen").read_text().split() for s in sessions}
    # Each destroy saw another one under way: they ran at the same time.
    assert {s: what for s, (what, _) in seen.items()} == dict.fromkeys(sessions, "together")
    # Each session's lease was held (by the reaper) during its own destroy, then released.
    holders = {holder for _, holder in seen.values()}
    assert len(holders) == 1 and holders != {"None"}
    for session in sessions:
        assert store.get(session).status == "ended"
        record = store.lease_record(session)
        assert record is not None and record.pid is None


def test_what_the_final_listing_saw_is_not_listed_again_for_the_unmarked_report(
    strict_aws: StrictAws,
) -> None:
    since = utcnow() - timedelta(minutes=1)
    strict_aws.moto("sqs").create_queue(QueueName="ours", tags=TAGS)
    strict_aws.moto("sqs").create_queue(QueueName="learners")  # no mark: reported, kept
    sweeper = AwsSweeper(strict_aws.env)
    result = sweep(sweeper, MARKS)
    assert [f.id for f in result.removed] == ["ours"] and not result.remaining
    listed = len(strict_aws.calls)

    unowned = sweeper.unmarked_since(since)

    assert [(f.kind, f.id) for f in unowned] == [("aws:sqs:queue", "learners")]
    again = [c.action for c in strict_aws.calls[listed:]]
    assert "sqs:ListQueues" not in again and "sqs:ListQueueTags" not in again
    assert not [a for a in again if a.startswith(("s3:", "dynamodb:"))]


def test_a_sweep_expecting_nothing_left_lists_once(strict_aws: StrictAws) -> None:
    """A teardown sweeps after Terraform's destroy: its first listing is the thorough one."""
    result = sweep(AwsSweeper(strict_aws.env), MARKS, expect_clean=True)
    assert result.passes == 0 and not result.remaining and not result.failed
    assert strict_aws.answers("iam:ListRoles") == ["moto"]  # one listing, and it is the proof
    assert strict_aws.answers("sqs:ListQueues") == ["moto"]  # the thorough one: every type


def test_a_sweep_expecting_nothing_still_deletes_what_it_finds(strict_aws: StrictAws) -> None:
    strict_aws.moto("sqs").create_queue(QueueName="left", tags=TAGS)
    result = sweep(AwsSweeper(strict_aws.env), MARKS, expect_clean=True)
    assert [f.id for f in result.removed] == ["left"] and not result.remaining
