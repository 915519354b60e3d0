"""How long a fresh clone takes to install labrun the way `make demo` does, against the old way.

Target (from the issue): the install of `make demo` on a fresh clone takes at most 30 s here.

What is measured is the install only, not the lab's start: in a fresh `git clone` of this
repository's HEAD, each side runs until `.venv/bin/labrun --version` works (checked after
the clock stops), and the venv's size is reported too.

- new: `make install`, the install `make demo` runs before `labrun start` (labrun and its
  runtime dependencies only; uv when it is on PATH, see the Makefile);
- bootstrap: the same on a machine without uv on PATH (a fresh CI machine): pip installs
  uv from PyPI into the venv, then uv installs labrun;
- old: what `make demo` did before: `python3 -m venv .venv` and
  `pip install -e '.[test]'` (the development and test tools included).

Each side runs with a cold package cache (a new, empty one: every package is downloaded from
the index) and then a warm one (the cache the cold run filled), in the same run, so the four
figures come from one machine at one moment. uv's cache is UV_CACHE_DIR, pip's PIP_CACHE_DIR.

This is a measurement, not a test: it exits 0 whatever the verdict, and 1 only when an
install failed.

    .venv/bin/python benchmarks/install_time.py [--sides new,bootstrap,old]
        [--caches cold,warm] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 30.0
REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds for one install: pip with a cold cache takes minutes
SIDES = {
    "new": "make install (what `make demo` installs; uv when available)",
    "bootstrap": "make install UV= (no uv on PATH: pip installs uv from PyPI first)",
    "old": "python3 -m venv + pip install -e '.[test]' (the old `make demo`)",
}
CACHES = ("cold", "warm")


class BenchError(Exception):
    """An install failed: its figure would mean nothing."""


def install_commands(side: str) -> list[list[str]]:
    if side == "new":
        return [["make", "--no-print-directory", "install"]]
    if side == "bootstrap":
        return [["make", "--no-print-directory", "install", "UV="]]
    return [
        ["python3", "-m", "venv", ".venv"],
        [".venv/bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", ".[test]"],
    ]  # fmt: skip


def cache_env(side: str, cache: Path) -> dict[str, str]:
    """This process's environment with the side's package cache in ``cache``."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    if side != "old":
        env["UV_CACHE_DIR"] = str(cache / "uv")
    if side != "new":
        env["PIP_CACHE_DIR"] = str(cache / "pip")
    return env


def measure(side: str, cache: Path, scratch: Path) -> dict[str, Any]:
    """One install in a fresh clone: seconds, the venv's size in MB."""
    clone = scratch / f"clone-{side}-{time.monotonic_ns()}"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = cache_env(side, cache)
    started = time.perf_counter()
    for command in install_commands(side):
        proc = subprocess.run(
            command, cwd=clone, env=env, capture_output=True, text=True, timeout=TIMEOUT,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(command)} exited with {proc.returncode}: {proc.stderr}")
    seconds = time.perf_counter() - started
    version = subprocess.run(
        [str(clone / ".venv" / "bin" / "labrun"), "--version"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if version.returncode != 0:
        raise BenchError(f"{side}: labrun does not run after the install: {version.stderr}")
    size_mb = _size(clone / ".venv") / 1e6
    shutil.rmtree(clone, ignore_errors=True)
    return {"seconds": round(seconds, 2), "venv_mb": round(size_mb)}


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def run(sides: list[str], caches: list[str]) -> dict[str, Any]:
    """Every side with every cache state; a warm run reuses what its side's cold run filled
    (without a cold run, the user's own cache is the warm one)."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="labrun-install-bench-") as tmp:
        scratch = Path(tmp)
        for side in sides:
            results[side] = {"what": SIDES[side]}
            fresh = scratch / f"cache-{side}"
            for state in caches:
                cache = fresh if "cold" in caches else _default_cache(side)
                results[side][state] = measure(side, cache, scratch)
    new_cold = results.get("new", {}).get("cold")
    verdict = None  # only a cold cache is a fresh machine
    if new_cold is not None:
        verdict = "PASS" if new_cold["seconds"] <= TARGET_SECONDS else "FAIL"
    return {"target_seconds": TARGET_SECONDS, "sides": results, "verdict": verdict}


def _default_cache(side: str) -> Path:
    """The folder of the user's own caches (uv/, pip/), for a warm run without a cold one."""
    default = Path.home() / ".cache"
    if side == "new":  # the other sides' warm runs follow their cold run
        found = subprocess.run(["uv", "cache", "dir"], capture_output=True, text=True, check=False)
        return Path(found.stdout.strip()).parent if found.returncode == 0 else default
    return default


def show(result: dict[str, Any]) -> None:
    print("fresh clone install, until `labrun --version` works (the lab's start not included)")
    print(f"{'':<10}{'cold cache':>12}{'warm cache':>12}{'venv':>9}   what")
    for side, figures in result["sides"].items():
        cells = [f"{figures[s]['seconds']:>11.1f}s" if s in figures else f"{'-':>12}"
                 for s in CACHES]  # fmt: skip
        size = next(figures[s]["venv_mb"] for s in CACHES if s in figures)
        print(f"{side:<10}{''.join(cells)}{size:>6} MB   {figures['what']}")
    if result["verdict"]:
        print(
            f"target: new install <= {TARGET_SECONDS:.0f}s with a cold cache: {result['verdict']}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="new,bootstrap,old", help="among new,bootstrap,old")
    parser.add_argument("--caches", default="cold,warm", help="cold, warm or both")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sides = [s for s in args.sides.split(",") if s]
    caches = [c for c in args.caches.split(",") if c]
    if not set(sides) <= set(SIDES) or not set(caches) <= set(CACHES):
        parser.error(f"--sides takes {', '.join(SIDES)}; --caches takes {', '.join(CACHES)}")
    try:
        result = run(sides, caches)
    except (BenchError, subprocess.SubprocessError) as exc:
        print(f"install_time: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
