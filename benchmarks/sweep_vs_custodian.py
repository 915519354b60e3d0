"""labrun's reaper against Cloud Custodian, deleting the same owned, expired, orphaned resources.

Target (issue 10): one whole `labrun reap` process removes 300 orphaned resources in at most
3 s, at least 10x faster than Cloud Custodian's delete policies on an identical seed, and
leaves none of them behind.

Each run, for each side: the local cloud (a moto server process, as labrun starts it) is
reset, then seeded with `--count` resources (300 by default) marked as an orphan's: tagged
`labrun:session=bench` (a session this LABRUN_HOME never had), `labrun:owner=bench-owner`
(the reaping owner) and an `labrun:expires-at` in the past: non-empty S3 buckets, SQS
queues, DynamoDB tables, EC2 instances, CloudWatch log groups, IAM users (with an access key
and an attached policy), roles (with an attached and an inline policy), customer managed
policies, and ECR repositories; plus one untagged resource of each service, which both sides
must spare. Then one side deletes:

- labrun: `labrun reap --json` (LABRUN_OWNER=bench-owner), a whole process, as the reaper's
  schedule runs it: it lists the owner's orphans, then sweeps them;
- Custodian: `custodian run` of one delete policy per resource type it supports, each
  filtered on `tag:labrun:session: bench`, with AWS_ENDPOINT_URL pointing at moto.

Both are timed as whole processes (interpreter start and imports included). What remains is
counted by listing every service directly, not by asking either tool.

With `--latency 0.1`, every call goes through the strict-AWS proxy of testing/strict_aws with
100 ms added (what a call to real AWS costs), and the sides change: labrun is its AWS sweep
(`sweep(AwsSweeper(env), ...)` in a fresh process: the reaper cannot be pointed at the
proxy), the peer is the same sweep one call at a time (`AwsSweeper(env, workers=1)`: what
labrun did before issue 10). Target: labrun <= 8 s.

Custodian is not a labrun dependency, and c7n pins boto3 to an exact version (installing
it into labrun's venv downgrades boto3 there), so give it its own venv:

    uv venv /tmp/c7n-venv && uv pip install --python /tmp/c7n-venv/bin/python c7n
    .venv/bin/python benchmarks/sweep_vs_custodian.py --custodian /tmp/c7n-venv/bin/custodian

Without `--custodian`, the `custodian` next to this Python or on PATH is used; with none,
only labrun is measured. This is a measurement, not a test: it exits 0 whatever the
verdict, 1 only when a side could not run.

    .venv/bin/python benchmarks/sweep_vs_custodian.py [--runs 1] [--count 300] [--json]
    .venv/bin/python benchmarks/sweep_vs_custodian.py --latency 0.1 [--count 300] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

SESSION = "bench"
OWNER = "bench-owner"
TARGET_RATIO = 10.0
TARGET_SECONDS = 3.0
TARGET_LATENCY_SECONDS = 8.0
TAGS = {
    "labrun:session": SESSION,
    "labrun:owner": OWNER,
    "labrun:lab": "bench",
    "labrun:expires-at": "2026-01-01T00:00:00Z",  # long past: an orphan the reaper takes
}
ROOT = Path(__file__).resolve().parent.parent
# How `--count` resources are spread over the types (in hundredths, summing to 100).
SPREAD = {
    "aws:s3:bucket": 13,
    "aws:sqs:queue": 17,
    "aws:dynamodb:table": 13,
    "aws:ec2:instance": 14,
    "aws:logs:log-group": 17,
    "aws:iam:user": 7,
    "aws:iam:role": 7,
    "aws:iam:policy": 3,
    "aws:ecr:repository": 9,
}
DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
EC2 = {"Service": "ec2.amazonaws.com"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": EC2, "Action": "sts:AssumeRole"}],
    }
)
TAG_FILTER = {"tag:labrun:session": SESSION}
EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception): ")  # the last line of a traceback
# Custodian's policies, in the order labrun deletes: instances first, IAM policies last.
# c7n 0.9.53 has no delete action for ECR repositories (aws.ecr): nothing to run there.
CUSTODIAN_POLICIES: list[dict[str, Any]] = [
    {"name": "ec2", "resource": "aws.ec2", "actions": ["terminate"]},
    {"name": "s3", "resource": "aws.s3", "actions": [{"type": "delete", "remove-contents": True}]},
    {"name": "sqs", "resource": "aws.sqs", "actions": ["delete"]},
    {"name": "dynamodb", "resource": "aws.dynamodb-table", "actions": ["delete"]},
    {"name": "log-group", "resource": "aws.log-group", "actions": ["delete"]},
    {"name": "iam-user", "resource": "aws.iam-user", "actions": ["delete"]},
    {
        "name": "iam-role",
        "resource": "aws.iam-role",
        "actions": [{"type": "delete", "force": True}],
    },
    {"name": "iam-policy", "resource": "aws.iam-policy", "actions": ["delete"]},
]
LABRUN_SWEEP = """
import json, os, time
started = time.perf_counter()
from labrun.sweep import Marks, sweep
from labrun.sweep.aws import AwsSweeper
sweeper = AwsSweeper(os.environ, workers=int(os.environ["BENCH_WORKERS"]))
result = sweep(sweeper, Marks(os.environ["BENCH_SESSION"], None))
print(json.dumps({
    "sweep_seconds": time.perf_counter() - started,
    "passes": result.passes,
    "failed": [f"{r.kind} {r.id}: {error}" for r, error in result.failed],
}))
"""

Resource = tuple[str, str]  # (kind, id)
WORKERS = 32  # labrun's AwsSweeper default (labrun.sweep.aws.WORKERS)


class BenchError(Exception):
    """A side could not run: the figures would mean nothing."""


# The local cloud: a moto server process in a throwaway LABRUN_HOME, reset before each seeding.


def start_cloud(home: Path) -> dict[str, str]:
    os.environ["LABRUN_HOME"] = str(home)
    from labrun import localcloud

    status = localcloud.ensure_running()
    assert status.endpoint
    return localcloud.aws_env(status.endpoint)


def stop_cloud() -> None:
    from labrun import localcloud

    localcloud.stop()


def reset(env: dict[str, str]) -> None:
    request = urllib.request.Request(env["AWS_ENDPOINT_URL"] + "/moto-api/reset", method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        response.read()


class Clients:
    def __init__(self, env: dict[str, str]) -> None:
        import boto3

        self.session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )
        self.endpoint = env["AWS_ENDPOINT_URL"]
        self.made: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.made:
            self.made[service] = self.session.client(service, endpoint_url=self.endpoint)
        return self.made[service]


# Seeding.


def counts(total: int) -> dict[str, int]:
    """How many of each type, `total` in all (the remainder goes to the first types)."""
    share = {kind: total * part // 100 for kind, part in SPREAD.items()}
    for kind in list(SPREAD)[: total - sum(share.values())]:
        share[kind] += 1
    return share


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def seed(env: dict[str, str], total: int) -> tuple[set[Resource], set[Resource]]:
    """(the tagged resources, the untagged controls) now in the cloud."""
    aws = Clients(env)
    share = counts(total)
    tagged: set[Resource] = set()
    policies = seed_policies(aws, share["aws:iam:policy"])
    tagged |= {("aws:iam:policy", arn) for arn in policies}
    tagged |= seed_buckets(aws, share["aws:s3:bucket"], "bench-bucket", TAGS)
    tagged |= seed_queues(aws, share["aws:sqs:queue"], "bench-queue", TAGS)
    tagged |= seed_tables(aws, share["aws:dynamodb:table"], "bench-table", TAGS)
    tagged |= seed_instances(aws, share["aws:ec2:instance"], TAGS)
    tagged |= seed_log_groups(aws, share["aws:logs:log-group"], "/bench/group", TAGS)
    tagged |= seed_users(aws, share["aws:iam:user"], "bench-user", TAGS, policies)
    tagged |= seed_roles(aws, share["aws:iam:role"], "bench-role", TAGS, policies)
    tagged |= seed_repositories(aws, share["aws:ecr:repository"], "bench-repo", TAGS)
    controls = seed_buckets(aws, 1, "control-bucket", {})
    controls |= seed_queues(aws, 1, "control-queue", {})
    controls |= seed_tables(aws, 1, "control-table", {})
    controls |= seed_instances(aws, 1, {})
    controls |= seed_log_groups(aws, 1, "/control/group", {})
    controls |= seed_users(aws, 1, "control-user", {}, [])
    controls |= seed_roles(aws, 1, "control-role", {}, [])
    controls |= seed_repositories(aws, 1, "control-repo", {})
    return tagged, controls


def seed_buckets(aws: Clients, n: int, prefix: str, tags: dict[str, str]) -> set[Resource]:
    s3 = aws("s3")
    for i in range(n):
        name = f"{prefix}-{i}"
        s3.create_bucket(Bucket=name)
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        for key in ("a.txt", "b.txt", "dir/c.txt"):
            s3.put_object(Bucket=name, Key=key, Body=b"data")
    return {("aws:s3:bucket", f"{prefix}-{i}") for i in range(n)}


def seed_queues(aws: Clients, n: int, prefix: str, tags: dict[str, str]) -> set[Resource]:
    for i in range(n):
        aws("sqs").create_queue(QueueName=f"{prefix}-{i}", tags=tags)
    return {("aws:sqs:queue", f"{prefix}-{i}") for i in range(n)}


def seed_tables(aws: Clients, n: int, prefix: str, tags: dict[str, str]) -> set[Resource]:
    for i in range(n):
        aws("dynamodb").create_table(
            TableName=f"{prefix}-{i}",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **({"Tags": tag_list(tags)} if tags else {}),
        )
    return {("aws:dynamodb:table", f"{prefix}-{i}") for i in range(n)}


def seed_instances(aws: Clients, n: int, tags: dict[str, str]) -> set[Resource]:
    if n == 0:
        return set()
    spec = [{"ResourceType": "instance", "Tags": tag_list(tags)}] if tags else []
    instances = aws("ec2").run_instances(
        ImageId="ami-12c6146b", MinCount=n, MaxCount=n, TagSpecifications=spec
    )["Instances"]
    return {("aws:ec2:instance", instance["InstanceId"]) for instance in instances}


def seed_log_groups(aws: Clients, n: int, prefix: str, tags: dict[str, str]) -> set[Resource]:
    for i in range(n):
        aws("logs").create_log_group(
            logGroupName=f"{prefix}-{i}", **({"tags": tags} if tags else {})
        )
    return {("aws:logs:log-group", f"{prefix}-{i}") for i in range(n)}


def seed_policies(aws: Clients, n: int) -> list[str]:
    return [
        aws("iam").create_policy(
            PolicyName=f"bench-policy-{i}", PolicyDocument=DOCUMENT, Tags=tag_list(TAGS)
        )["Policy"]["Arn"]
        for i in range(n)
    ]


def seed_users(
    aws: Clients, n: int, prefix: str, tags: dict[str, str], policies: list[str]
) -> set[Resource]:
    iam = aws("iam")
    for i in range(n):
        name = f"{prefix}-{i}"
        iam.create_user(UserName=name, Tags=tag_list(tags))
        iam.create_access_key(UserName=name)
        if policies:
            iam.attach_user_policy(UserName=name, PolicyArn=policies[i % len(policies)])
    return {("aws:iam:user", f"{prefix}-{i}") for i in range(n)}


def seed_roles(
    aws: Clients, n: int, prefix: str, tags: dict[str, str], policies: list[str]
) -> set[Resource]:
    iam = aws("iam")
    for i in range(n):
        name = f"{prefix}-{i}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Tags=tag_list(tags))
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=DOCUMENT)
        if policies:
            iam.attach_role_policy(RoleName=name, PolicyArn=policies[i % len(policies)])
    return {("aws:iam:role", f"{prefix}-{i}") for i in range(n)}


def seed_repositories(aws: Clients, n: int, prefix: str, tags: dict[str, str]) -> set[Resource]:
    for i in range(n):
        aws("ecr").create_repository(repositoryName=f"{prefix}-{i}", tags=tag_list(tags))
    return {("aws:ecr:repository", f"{prefix}-{i}") for i in range(n)}


LIVE_INSTANCES = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}]
# How to list each seeded type: (kind, service, operation, result key, id field, arguments).
# An empty id field: the item is the id (table names), or a URL ending with it (queues).
LISTINGS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    ("aws:s3:bucket", "s3", "list_buckets", "Buckets", "Name", {}),
    ("aws:sqs:queue", "sqs", "list_queues", "QueueUrls", "", {}),
    ("aws:dynamodb:table", "dynamodb", "list_tables", "TableNames", "", {}),
    ("aws:logs:log-group", "logs", "describe_log_groups", "logGroups", "logGroupName", {}),
    ("aws:ecr:repository", "ecr", "describe_repositories", "repositories", "repositoryName", {}),
    ("aws:iam:user", "iam", "list_users", "Users", "UserName", {}),
    ("aws:iam:role", "iam", "list_roles", "Roles", "RoleName", {}),
    ("aws:iam:policy", "iam", "list_policies", "Policies", "Arn", {"Scope": "Local"}),
]


def inventory(env: dict[str, str]) -> set[Resource]:
    """Every resource of the seeded types, listed straight from each service."""
    aws = Clients(env)
    found: set[Resource] = set()
    for kind, service, operation, key, field, arguments in LISTINGS:
        for item in items(aws(service), operation, key, **arguments):
            found.add((kind, item[field] if field else item.rsplit("/", 1)[-1]))
    reservations = items(aws("ec2"), "describe_instances", "Reservations", Filters=LIVE_INSTANCES)
    found |= {("aws:ec2:instance", i["InstanceId"]) for r in reservations for i in r["Instances"]}
    return found


def items(client: Any, operation: str, key: str, **arguments: Any) -> list[Any]:
    pages = client.get_paginator(operation).paginate(**arguments)
    return [item for page in pages for item in page.get(key, [])]


# The two sides.


def base_env(cloud: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its AWS settings, plus the local cloud's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {**env, **cloud}


def run_reap(cloud: dict[str, str], home: Path) -> tuple[float, dict[str, Any]]:
    """One whole `labrun reap --json` process in the LABRUN_HOME whose local cloud it is."""
    env = {**base_env({}), "LABRUN_HOME": str(home), "LABRUN_OWNER": OWNER}
    command = [sys.executable, "-m", "labrun", "reap", "--json"]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise BenchError(f"labrun reap exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return seconds, {"orphans": len(report["orphans"]), "failed": report["failures"]}


def run_sweep(cloud: dict[str, str], workers: int) -> tuple[float, dict[str, Any]]:
    """labrun's AWS sweep in a fresh process, `workers` deletes at once."""
    env = {**base_env(cloud), "BENCH_SESSION": SESSION, "BENCH_WORKERS": str(workers)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", LABRUN_SWEEP], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"labrun's sweep exited with {proc.returncode}:\n{proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def run_custodian(
    custodian: str, cloud: dict[str, str], workdir: Path
) -> tuple[float, dict[str, Any]]:
    policies = [{**policy, "filters": [TAG_FILTER]} for policy in CUSTODIAN_POLICIES]
    policy_file = workdir / "sweep.json"
    policy_file.write_text(json.dumps({"policies": policies}, indent=2))
    output = workdir / "out"
    command = [custodian, "run", "-v", "-s", str(output), "--cache-period", "0", str(policy_file)]
    command += ["--region", cloud["AWS_REGION"]]
    started = time.perf_counter()
    proc = subprocess.run(command, env=base_env(cloud), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if "Traceback" in proc.stderr and not output.exists():
        raise BenchError(f"custodian failed:\n{proc.stderr[-2000:]}")
    return seconds, {
        "exit_code": proc.returncode,
        "policies": custodian_results(output, proc.stderr),
    }


def custodian_results(output: Path, log: str) -> dict[str, dict[str, Any]]:
    """Per policy: resources matched, seconds spent (from its log), and its error if any."""
    seconds = policy_seconds(log)
    results = {}
    for policy in CUSTODIAN_POLICIES:
        name = policy["name"]
        resources = output / name / "resources.json"
        matched = len(json.loads(resources.read_text())) if resources.exists() else None
        results[name] = {
            "matched": matched,
            "seconds": round(seconds.get(name, 0.0), 3),
            "error": policy_error(log, name),
        }
    return results


def policy_seconds(log: str) -> dict[str, float]:
    """From `custodian run -v` output: each policy's time, from its start to the next's."""
    stamps = [(log_time(line), line) for line in log.splitlines() if log_time(line)]
    starts = [
        (when, line.split("Running policy:")[1].split()[0])
        for when, line in stamps
        if "Running policy:" in line
    ]
    ends = [when for when, _ in starts[1:]] + [stamps[-1][0] if stamps else 0.0]
    return {name: end - start for (start, name), end in zip(starts, ends, strict=True)}


def log_time(line: str) -> float:
    """The time of a Custodian log line ("2026-11-27 10:17:17,659: ..."), 0.0 if none."""
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return 0.0


def policy_error(log: str, name: str) -> str | None:
    """The last line of the traceback Custodian logged for the policy, if it failed."""
    if f"Error while executing policy {name}," not in log:
        return None
    section = log.split(f"Running policy:{name} ", 1)[-1].split("Running policy:", 1)[0]
    problems = [line for line in section.splitlines() if EXCEPTION_LINE.match(line)]
    return problems[-1][:200] if problems else "failed (see custodian's log)"


def find_custodian(explicit: str | None) -> str | None:
    """`--custodian`'s (an empty one: none), else next to this Python, else on PATH."""
    if explicit is not None:
        return explicit or None
    beside = Path(sys.executable).parent / "custodian"
    return str(beside) if beside.exists() else shutil.which("custodian")


# Measuring and reporting.


@dataclass
class Setup:
    """What a run needs: the cloud, labrun's home there, and the proxy's env (--latency)."""

    cloud: dict[str, str]
    home: Path
    custodian: str | None
    strict: dict[str, str] | None = None  # the env of a client of the strict-AWS proxy


def sides(latency: float, custodian: str | None) -> list[str]:
    if latency:
        return ["labrun", "sequential"]
    return ["labrun"] + (["custodian"] if custodian else [])


def run_side(side: str, setup: Setup, workdir: Path) -> tuple[float, dict[str, Any]]:
    if setup.strict is not None:
        return run_sweep(setup.strict, WORKERS if side == "labrun" else 1)
    if side == "labrun":
        return run_reap(setup.cloud, setup.home)
    assert setup.custodian is not None
    return run_custodian(setup.custodian, setup.cloud, workdir)


def once(side: str, setup: Setup, count: int, workdir: Path) -> dict[str, Any]:
    cloud = setup.cloud
    reset(cloud)
    tagged, controls = seed(cloud, count)
    before = inventory(cloud)
    if not before >= tagged | controls:
        raise BenchError(f"seeding left out {sorted((tagged | controls) - before)[:5]}")
    seconds, detail = run_side(side, setup, workdir)
    after = inventory(cloud)
    remaining = tagged & after
    return {
        "seconds": seconds,
        "seeded": len(tagged),
        "removed": len(tagged - after),
        "remaining": len(remaining),
        "remaining_by_kind": dict(Counter(kind for kind, _ in remaining)),
        "controls_removed": len(controls - after),
        "detail": detail,
    }


def measure(
    runs: int, count: int, custodian: str | None, latency: float, bytecode: bool = True
) -> dict[str, list[dict[str, Any]]]:
    names = sides(latency, custodian)
    samples: dict[str, list[dict[str, Any]]] = {side: [] for side in names}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp, ExitStack() as stack:
        home = Path(tmp) / "labrun-home"
        setup = Setup(start_cloud(home), home, custodian)
        stack.callback(stop_cloud)
        if latency:
            setup.strict = stack.enter_context(strict_proxy(setup.cloud, latency))
        if bytecode:
            compile_bytecode()
        for index in range(runs):
            for side in names:
                workdir = Path(tmp) / f"{side}-{index}"
                workdir.mkdir()
                samples[side].append(once(side, setup, count, workdir))
    return samples


@contextmanager
def strict_proxy(cloud: dict[str, str], latency: float) -> Iterator[dict[str, str]]:
    """The strict-AWS proxy in front of the cloud, `latency` seconds added to each call."""
    sys.path.insert(0, str(ROOT))  # testing/ lives beside src/, not in the installed package
    from testing.strict_aws import StrictAws

    with StrictAws(cloud["AWS_ENDPOINT_URL"]) as strict:
        strict.latency(latency)
        yield {**cloud, "AWS_ENDPOINT_URL": strict.endpoint}


def compile_bytecode() -> None:
    """Byte-compile labrun and its dependencies once, as an install does: the container sets
    PYTHONDONTWRITEBYTECODE, and each process would otherwise compile what it imports."""
    import compileall
    import sysconfig

    for folder in (sysconfig.get_paths()["purelib"], str(ROOT / "src")):
        compileall.compile_dir(folder, quiet=1)


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [s["seconds"] for s in samples]
    last = samples[-1]
    result = {
        "median": round(statistics.median(seconds), 3),
        "min": round(min(seconds), 3),
        "max": round(max(seconds), 3),
        "samples": [round(s, 3) for s in seconds],
        "seeded": last["seeded"],
        "removed": last["removed"],
        "remaining": last["remaining"],
        "remaining_by_kind": last["remaining_by_kind"],
        "controls_removed": max(s["controls_removed"] for s in samples),
        "detail": last["detail"],
    }
    if "sweep_seconds" in last["detail"]:
        inner = [s["detail"]["sweep_seconds"] for s in samples]
        result["sweep_seconds_median"] = round(statistics.median(inner), 3)
    if "policies" in last["detail"]:
        lost = [failed_policy_seconds(s["detail"]["policies"]) for s in samples]
        ran = [s["seconds"] - lost_seconds for s, lost_seconds in zip(samples, lost, strict=True)]
        result["median_without_failed_policies"] = round(statistics.median(ran), 3)
    return result


def failed_policy_seconds(policies: dict[str, dict[str, Any]]) -> float:
    """Time Custodian spent in policies that raised (an unreachable endpoint retried...)."""
    return float(sum(p["seconds"] for p in policies.values() if p["error"]))


def report(
    runs: int, count: int, latency: float, samples: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "sweep_vs_custodian", "runs": runs, "count": count}
    result["latency"] = latency
    result["labrun"] = labrun = summary(samples["labrun"])
    clean = labrun["remaining"] == 0 and labrun["controls_removed"] == 0
    if latency:
        result["target_seconds"] = TARGET_LATENCY_SECONDS
        result["sequential"] = sequential = summary(samples["sequential"])
        result["ratio"] = round(sequential["median"] / labrun["median"], 2)
        fast = labrun["median"] <= TARGET_LATENCY_SECONDS
        result["verdict"] = "PASS" if fast and clean else "FAIL"
        return result
    result["target_seconds"] = TARGET_SECONDS
    result["target_ratio"] = TARGET_RATIO
    if "custodian" not in samples:
        result.update(custodian=None, ratio=None, verdict="SKIPPED (no custodian)")
        return result
    result["custodian"] = custodian = summary(samples["custodian"])
    result["ratio"] = round(custodian["median"] / labrun["median"], 2)
    # The verdict takes the ratio least favourable to labrun: Custodian's time without the
    # policies that failed (time lost to an unreachable endpoint is not Custodian's speed).
    fair = custodian["median_without_failed_policies"] / labrun["median"]
    result["ratio_without_failed_policies"] = round(fair, 2)
    fast = labrun["median"] <= TARGET_SECONDS
    result["verdict"] = "PASS" if fair >= TARGET_RATIO and fast and clean else "FAIL"
    return result


def print_table(result: dict[str, Any]) -> None:
    where = f"through the strict proxy, {result['latency']}s a call" if result["latency"] else ""
    print(f"Deleting {result['count']} tagged resources in moto {where}: {result['runs']} runs")
    print(
        f"{'tool':12}{'seconds':>9}{'min':>8}{'max':>8}{'removed':>9}{'remaining':>11}{'spared':>8}"
    )
    for tool in ("labrun", "custodian", "sequential"):
        side = result.get(tool)
        if not side:
            continue
        spared = "all" if side["controls_removed"] == 0 else f"-{side['controls_removed']}"
        print(
            f"{tool:12}{side['median']:8.2f}s{side['min']:7.2f}s{side['max']:7.2f}s"
            f"{side['removed']:>6}/{side['seeded']:<3}{side['remaining']:>10}{spared:>8}"
        )
        if side["remaining_by_kind"]:
            left = ", ".join(f"{kind} {n}" for kind, n in sorted(side["remaining_by_kind"].items()))
            print(f"{'':4}left: {left}")
    if result["latency"]:
        print("labrun: its sweep, concurrent; sequential: the same sweep, one call at a time")
        print(f"ratio sequential / labrun: {result['ratio']}x;"
              f" target labrun <= {result['target_seconds']}s")  # fmt: skip
    custodian = result.get("custodian")
    if custodian:
        print("labrun: one whole `labrun reap` process")
        print("custodian's policies (last run):")
        for name, policy in custodian["detail"]["policies"].items():
            error = f"  FAILED: {policy['error']}" if policy["error"] else ""
            print(
                f"    {name:11}matched {policy['matched']!s:>4}  {policy['seconds']:6.2f}s{error}"
            )
        print("    ecr        no delete action for aws.ecr in c7n: not run")
        print(
            f"speed ratio custodian / labrun: {result['ratio']}x; without custodian's failed"
            f" policies ({custodian['median_without_failed_policies']:.2f}s):"
            f" {result['ratio_without_failed_policies']}x; target >= {TARGET_RATIO}x"
            f" and labrun <= {TARGET_SECONDS}s"
        )
    print(f"verdict: {result['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="measured runs of each (default 1)")
    parser.add_argument("--count", type=int, default=300, help="tagged resources (default 300)")
    parser.add_argument(
        "--custodian", help="the custodian command (default: found on PATH; '': none)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0,
        help="seconds added to each call, through the strict-AWS proxy (0: none, straight to moto)",
    )  # fmt: skip
    parser.add_argument(
        "--no-bytecode", action="store_true",
        help="do not byte-compile labrun and its dependencies first (as an install would)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.count < len(SPREAD):
        parser.error(f"--runs must be at least 1 and --count at least {len(SPREAD)}")
    try:
        custodian = None if args.latency else find_custodian(args.custodian)
        samples = measure(args.runs, args.count, custodian, args.latency, not args.no_bytecode)
        result = report(args.runs, args.count, args.latency, samples)
    except BenchError as exc:
        print(f"sweep_vs_custodian: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
