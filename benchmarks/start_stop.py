"""`labrun start` + `labrun stop` against plain Terraform init + apply + destroy.

Target (from the issue): labrun's start + stop of a builtin-provider lab costs at most 1.5x
plain Terraform's init + apply + destroy of the same module, comparing medians.

With `--lab bench-cloud` (issue 10), the lab needs the local cloud and Docker (one bucket,
one network), and the targets are absolute: `labrun start` <= 1.0 s, `labrun stop` <= 1.5 s
(medians). labrun runs in one LABRUN_HOME throughout, as a user's: each start starts the
local cloud (the stop before stopped it, as it does once no local session is left) and
each stop sweeps the cloud and the Docker engine. The peer's Terraform reaches a local cloud
that is already running, and is given the marks as variables. `--pause 5` waits between
start and stop, as a learner works in between: the local cloud builds what a stop's sweep
needs in the background once it is ready (2 to 3 s on a busy machine), and a stop that
comes before that waits for it.

Both sides run the same Terraform build (the embedded one, `python -m labrun.tfworker`,
since the machine has no `terraform` binary), one process per command as a user would type
them, on a fresh copy of benchmarks/labs/bench-builtin. The runs alternate (peer, labrun,
peer, labrun...) after one warm-up of each, so that a noisy machine slows both alike.

This is a measurement, not a test: it exits 0 whatever the verdict, and 1 only when a
command failed.

    .venv/bin/python benchmarks/start_stop.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

LABS_DIR = Path(__file__).resolve().parent / "labs"
LAB = "bench-builtin"
CLOUD_LAB = "bench-cloud"
TARGET_RATIO = 1.5
TARGET_START = 1.0  # seconds, bench-cloud
TARGET_STOP = 1.5
SIDES = {"peer": "terraform init + apply + destroy", "labrun": "labrun start + stop"}
MARKS = {"labrun:session": "bench", "labrun:owner": "bench-owner"}
CLOUD_VARS = [
    "-var", f"labrun_tags={json.dumps(MARKS)}",
    "-var", f"labrun_labels={json.dumps({k.replace(':', '.'): v for k, v in MARKS.items()})}",
]  # fmt: skip


def peer_steps(lab: str) -> dict[str, list[str]]:
    variables = ["-var", "labrun_session=bench", *(CLOUD_VARS if lab == CLOUD_LAB else [])]
    return {
        "init": ["init"],
        "apply": ["apply", "-auto-approve", *variables],
        "destroy": ["destroy", "-auto-approve", *variables],
    }


class BenchError(Exception):
    """A measured command failed: the figures would mean nothing."""


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run one command to completion; its wall-clock seconds and its stdout."""
    started = time.perf_counter()
    proc = subprocess.run(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-10:])
        raise BenchError(f"{' '.join(command)} exited with {proc.returncode}:\n{tail}")
    return seconds, proc.stdout


def base_env() -> dict[str, str]:
    """The caller's environment, minus what would make the two sides run different things."""
    env = dict(os.environ)
    for name in ("LABRUN_TERRAFORM", "LABRUN_LABS_PATH", "TF_CLI_ARGS", "TF_DATA_DIR"):
        env.pop(name, None)
    # No internet here: a version check would measure a network timeout, not the tools.
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def peer_once(workdir: Path, lab: str, cloud: dict[str, str]) -> dict[str, float]:
    """Plain Terraform: init, apply, destroy on a fresh copy of the lab's module."""
    module = workdir / "peer"
    shutil.copytree(LABS_DIR / lab / "terraform", module)
    terraform = [sys.executable, "-m", "labrun.tfworker"]
    env = {**base_env(), **cloud}
    steps = peer_steps(lab)
    return {step: run([*terraform, *args], module, env)[0] for step, args in steps.items()}


def labrun_once(workdir: Path, lab: str, home: Path | None, pause: float) -> dict[str, float]:
    """labrun start --json, then labrun stop SESSION --json, in `home` (None: a fresh one),
    `pause` seconds apart (a learner works in between)."""
    env = {**base_env(), "LABRUN_HOME": str(home or workdir / "labrun-home")}
    labrun = [sys.executable, "-m", "labrun"]
    start_args = ["start", lab, "--labs-dir", str(LABS_DIR), "--json"]
    start_seconds, out = run([*labrun, *start_args], workdir, env)
    session = json.loads(out)["session"]
    time.sleep(pause)
    stop_seconds, out = run([*labrun, "stop", session, "--json"], workdir, env)
    if not json.loads(out).get("ok"):
        raise BenchError(f"labrun stop {session} did not leave everything clean:\n{out}")
    return {"start": start_seconds, "stop": stop_seconds}


def measure(runs: int, lab: str, pause: float = 0.0) -> dict[str, list[dict[str, float]]]:
    """One warm-up of each side, then `runs` of each, interleaved."""
    samples: dict[str, list[dict[str, float]]] = {"peer": [], "labrun": []}
    with tempfile.TemporaryDirectory(prefix="bench-homes-") as homes, ExitStack() as stack:
        cloud: dict[str, str] = {}
        home = None
        if lab == CLOUD_LAB:  # the peer's cloud, and labrun's one home
            cloud = stack.enter_context(running_cloud(Path(homes) / "peer-cloud"))
            home = Path(homes) / "labrun"
        for index in range(runs + 1):
            for side in ("peer", "labrun"):
                with tempfile.TemporaryDirectory(prefix=f"bench-{side}-") as tmp:
                    if side == "peer":
                        phases = peer_once(Path(tmp), lab, cloud)
                    else:
                        phases = labrun_once(Path(tmp), lab, home, pause)
                if index > 0:  # run 0 is the warm-up
                    samples[side].append(phases)
    return samples


@contextmanager
def running_cloud(home: Path) -> Iterator[dict[str, str]]:
    """A local cloud of its own (in `home`) for the peer: its AWS environment."""
    env = {**os.environ, "LABRUN_HOME": str(home)}
    script = (
        "import json; from labrun import localcloud; "
        "print(json.dumps(localcloud.aws_env(localcloud.ensure_running().endpoint)))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    try:
        yield json.loads(answer.stdout)
    finally:
        stop = "from labrun import localcloud; localcloud.stop()"
        subprocess.run([sys.executable, "-c", stop], env=env, check=False)


def summary(phases: list[dict[str, float]]) -> dict[str, Any]:
    """Median, min and max of the totals, and the median of each phase."""
    totals = [sum(p.values()) for p in phases]
    return {
        "median": round(statistics.median(totals), 4),
        "min": round(min(totals), 4),
        "max": round(max(totals), 4),
        "samples": [round(t, 4) for t in totals],
        "phases": {n: round(statistics.median(p[n] for p in phases), 4) for n in phases[0]},
    }


def report(runs: int, lab: str, samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    peer, labrun = summary(samples["peer"]), summary(samples["labrun"])
    ratio = labrun["median"] / peer["median"]
    result = {
        "benchmark": "start_stop",
        "lab": lab,
        "runs": runs,
        "peer": peer,
        "labrun": labrun,
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "verdict": "PASS" if ratio <= TARGET_RATIO else "FAIL",
    }
    if lab == CLOUD_LAB:  # absolute targets per phase instead
        phases = labrun["phases"]
        met = phases["start"] <= TARGET_START and phases["stop"] <= TARGET_STOP
        result.update(target_ratio=None, target_start=TARGET_START, target_stop=TARGET_STOP)
        result["verdict"] = "PASS" if met else "FAIL"
    return result


def print_table(result: dict[str, Any]) -> None:
    runs = f"{result['runs']} runs of each, interleaved, after one warm-up"
    print(f"labrun start + stop vs plain Terraform, lab {result['lab']}: {runs}")
    print(f"{'':34}{'median':>8}{'min':>8}{'max':>8}")
    for key, label in SIDES.items():
        side = result[key]
        print(f"{label:34}{side['median']:7.3f}s{side['min']:7.3f}s{side['max']:7.3f}s")
        phases = "  ".join(f"{name} {sec:.3f}s" for name, sec in side["phases"].items())
        print(f"{'':4}median per phase: {phases}")
    if result["target_ratio"] is None:
        target = f"targets: start <= {result['target_start']}s, stop <= {result['target_stop']}s"
        print(f"ratio of medians: {result['ratio']:.2f}x; {target}: {result['verdict']}")
        return
    target = f"target <= {result['target_ratio']}x"
    print(f"ratio of medians: {result['ratio']:.2f}x ({target}): {result['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument("--lab", choices=[LAB, CLOUD_LAB], default=LAB, help="the lab to run")
    parser.add_argument(
        "--pause", type=float, default=0.0,
        help="seconds between labrun start and stop, as a learner works in between (default 0)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        result = report(args.runs, args.lab, measure(args.runs, args.lab, args.pause))
        result["pause"] = args.pause
    except BenchError as exc:
        print(f"start_stop: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
