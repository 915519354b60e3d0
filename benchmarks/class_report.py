"""How long `labrun class report` takes on a class of 1,000 handed-in grade reports.

Target (from the issue): 1,000 reports in under 2 s, for the whole `labrun class report
SOURCE --out FILE` process as a user would time it (interpreter start, imports, reading,
aggregating and writing the page).

The class is made once: `--reports` sessions (200 learners by default, over 5 labs), each
written by labrun's own `write_reports` (report.json, .xml, .md and .html: four files per
session, as `labrun grade --upload` leaves them) into
`<folder>/<owner>/<lab>/<session>/`, plus a few foreign and corrupt files. Statuses, scores,
costs and teardown receipts vary with a fixed seed. The baseline is a Python process that
only reads and parses the same report.json files: the floor for any tool in Python (on S3:
boto3 listing the prefix and getting every report.json, 16 at a time, as labrun does).

With `--s3`, the same class is also uploaded to a moto server (in this process) and
`labrun class report s3://...` is timed against it (reported, not held to the target:
a local emulator is not S3).

This is a measurement, not a test: it exits 0 whatever the verdict, and 1 only when a
command failed.

    .venv/bin/python benchmarks/class_report.py [--reports 1000] [--runs 5] [--s3] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from labrun.checker import TaskResult
from labrun.grade import Grade, write_reports
from labrun.grading import CheckReport
from labrun.meter import Meter
from labrun.teardown import Receipt

TARGET_SECONDS = 2.0
LABS = {
    "docker-basics": ("image", "container", "volume", "network"),
    "cloud-logs": ("log-group", "query", "metric"),
    "iac-basics": ("module", "plan", "apply", "outputs"),
    "python-engineering": ("tests", "lint", "package"),
    "cost-hygiene": ("inventory", "tags", "cleanup"),
}
BASELINE = """
import json, pathlib, sys
docs = []
for path in pathlib.Path(sys.argv[1]).rglob("report.json"):
    try:
        docs.append(json.loads(path.read_bytes()))
    except ValueError:
        pass
print(len(docs))
"""


# On S3: list the prefix and GET every report.json with boto3, 16 at a time, as labrun does.
BASELINE_S3 = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
bucket, prefix = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
keys = [o["Key"] for page in pages for o in page.get("Contents", [])
        if o["Key"].endswith("/report.json")]
def get(key):
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ValueError:
        return None
with ThreadPoolExecutor(16) as pool:
    print(sum(1 for doc in pool.map(get, keys) if doc is not None))
"""


class BenchError(Exception):
    """A measured command failed: the figures would mean nothing."""


def make_class(root: Path, reports: int, seed: int = 7) -> None:
    """`reports` sessions' reports under root/<owner>/<lab>/<session>/, plus foreign files."""
    rng = random.Random(seed)
    learners = [f"learner-{n:03d}" for n in range(max(1, reports // len(LABS)))]
    labs = list(LABS)
    for index in range(reports):
        owner, lab = learners[index % len(learners)], labs[index // len(learners) % len(labs)]
        session = f"s{index:07d}"
        tasks = [_task(rng, task_id) for task_id in LABS[lab]]
        receipt = Receipt(session=session, destroyed=[f"terraform_data.{lab}"],
                          checked=["terraform-state", "aws-marks"],
                          finished_at="2026-03-02T10:00:00Z")  # fmt: skip
        if rng.random() < 0.03:
            receipt.remaining.append({"kind": "s3-bucket", "id": f"{session}-data"})
        grade = Grade(
            lab, "2026-03-02T10:00:00Z", CheckReport(session, tasks), receipt,
            owner=owner, target="local", started_at=f"2026-03-02T{8 + rng.randrange(2):02d}:"
            f"{rng.randrange(60):02d}:00Z",
            cost=Meter(hourly_usd=0.012, budget_usd=1.0, hours=rng.uniform(0.2, 2.0)),
        )  # fmt: skip
        write_reports(grade, root / owner / lab / session)
    (root / "README.txt").write_text("hand-in folder of the spring class\n")
    (root / learners[0] / "notes.json").write_text('{"not": "a report"}\n')
    broken = root / "learner-x" / "docker-basics" / "broken0"
    broken.mkdir(parents=True)
    (broken / "report.json").write_text('{"session": "broken0", "score": ')


def _task(rng: random.Random, task_id: str) -> TaskResult:
    status = rng.choices(["pass", "fail", "partial"], weights=[7, 2, 1])[0]
    earned = {"pass": 2.0, "fail": 0.0, "partial": 1.0}[status]
    hint = "" if status == "pass" else f"Read the {task_id} section of the README again."
    return TaskResult(task_id, f"The {task_id} step", status, 2, earned, "", hint)  # type: ignore[arg-type]


def labrun_command() -> list[str]:
    """The installed console script when it sits next to this Python, else `python -m labrun`."""
    script = Path(sys.executable).parent / "labrun"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "labrun"]


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited with {proc.returncode}: {proc.stderr}")
    return seconds, proc.stdout


def stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "samples": [round(s, 4) for s in samples],
    }


def measure(
    source: str, folder: Path, runs: int, env: dict[str, str], baseline: list[str]
) -> dict[str, Any]:
    """One warm-up, then `runs` of labrun and the baseline command, interleaved."""
    out = folder.parent / "class-report.html"
    commands = {
        "labrun": [*labrun_command(), "class", "report", source, "--out", str(out), "--json"],
        "baseline": baseline,
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    document: dict[str, Any] = {}
    for index in range(runs + 1):
        for name, command in commands.items():
            seconds, stdout = timed(command, env)
            if name == "labrun":
                document = json.loads(stdout)
            if index > 0:
                samples[name].append(seconds)
    return {
        **{name: stats(values) for name, values in samples.items()},
        "counts": document["counts"],
        "page_bytes": out.stat().st_size,
    }


def measure_s3(folder: Path, runs: int) -> dict[str, Any]:
    """Upload the class to a moto server, then time `labrun class report s3://...`."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        os.environ.update(env)
        import boto3

        from labrun.upload import location

        boto3.client("s3").create_bucket(Bucket="class")
        where = location("s3://class/spring")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                where.put(path.relative_to(folder).as_posix(), path)
        baseline = [sys.executable, "-c", BASELINE_S3, "class", "spring/"]
        result = measure("s3://class/spring", folder, runs, env, baseline)
    finally:
        server.stop()
    return result


def report(reports: int, runs: int, with_s3: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="labrun-class-") as tmp:
        folder = Path(tmp) / "class"
        make_class(folder, reports)
        env = {**os.environ, "LABRUN_HOME": str(Path(tmp) / "home")}
        # As a user runs it: with the bytecode cache that an install writes (the warm-up
        # run writes it here when the environment had turned it off).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        result: dict[str, Any] = {
            "benchmark": "class_report",
            "reports": reports,
            "files": sum(1 for p in folder.rglob("*") if p.is_file()),
            "runs": runs,
            "target_seconds": TARGET_SECONDS,
            "folder": measure(
                str(folder), folder, runs, env, [sys.executable, "-c", BASELINE, str(folder)]
            ),
        }
        if with_s3:
            result["s3"] = measure_s3(folder, runs)
    median = result["folder"]["labrun"]["median"]
    result["verdict"] = "PASS" if median < TARGET_SECONDS else "FAIL"
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"labrun class report: {result['reports']} reports ({result['files']} files), "
          f"{result['runs']} runs, interleaved with the baseline")  # fmt: skip
    print(f"{'':40}{'median':>8}{'min':>8}{'max':>8}")
    for where in ("folder", "s3"):
        if where not in result:
            continue
        sides = (("labrun class report", "labrun"), ("baseline: read report.json", "baseline"))
        for label, key in sides:
            row = result[where][key]
            name = f"{label} ({where})"
            print(f"{name:40}{row['median']:7.3f}s{row['min']:7.3f}s{row['max']:7.3f}s")
    counts = result["folder"]["counts"]
    print(f"read {counts['reports']} reports, skipped {counts['skipped']} files; "
          f"page {result['folder']['page_bytes'] // 1024} KiB")  # fmt: skip
    median = result["folder"]["labrun"]["median"]
    print(f"median {median:.3f}s (target < {result['target_seconds']}s): {result['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000, help="sessions (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument("--s3", action="store_true", help="also time it against a moto server")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.reports < 1:
        parser.error("--runs and --reports must be at least 1")
    try:
        result = report(args.reports, args.runs, args.s3)
    except BenchError as exc:
        print(f"class_report: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
