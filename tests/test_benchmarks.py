"""The benchmarks still run: their lab is valid, and each script prints its JSON figures.

No timing is asserted here (the machine is shared); the figures are for benchmarks/README.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from labrun import tfmodule
from labrun.catalog import load_lab
from testing.cli import labrun_json

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
BENCH_LAB = BENCHMARKS / "labs" / "bench-builtin"
SIDE_KEYS = {"median", "min", "max", "samples"}


def run_benchmark(script: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_the_benchmark_lab_is_a_valid_builtin_only_lab() -> None:
    lab = load_lab(BENCH_LAB)
    assert lab.id == "bench-builtin"
    assert lab.manifest.requires == () and lab.manifest.targets == ("local",)
    info = tfmodule.inspect_module(lab.terraform_dir)
    assert "labrun_session" in info.variables
    assert not info.uses_aws  # the builtin provider only: no download, no cloud


def test_the_benchmark_lab_starts_passes_its_check_and_stops() -> None:
    started = labrun_json("start", "bench-builtin", "--labs-dir", str(BENCH_LAB.parent))
    session = started["session"]
    assert started["outputs"]["steps"] == [f"{session}-step-{i}" for i in range(5)]
    graded = labrun_json("check")
    assert graded["score"] == graded["total"] == 1
    receipt = labrun_json("stop", session)
    assert receipt["ok"] and len(receipt["destroyed"]) == 5


def test_help_time_prints_its_figures() -> None:
    result = run_benchmark("help_time.py", "--runs", "1", "--json")
    assert set(result["help"]) >= SIDE_KEYS and set(result["baseline"]) >= SIDE_KEYS
    assert len(result["help"]["samples"]) == 1
    assert set(result["heavy_imports"]) == {"import labrun.cli", "labrun --help"}
    assert result["target_seconds"] == 0.3
    assert result["verdict"] in ("PASS", "FAIL")


def test_start_stop_prints_its_figures() -> None:
    result = run_benchmark("start_stop.py", "--runs", "1", "--json")
    assert set(result["peer"]) >= SIDE_KEYS and set(result["labrun"]) >= SIDE_KEYS
    assert set(result["peer"]["phases"]) == {"init", "apply", "destroy"}
    assert set(result["labrun"]["phases"]) == {"start", "stop"}
    assert result["ratio"] > 0 and result["target_ratio"] == 1.5
    assert result["verdict"] in ("PASS", "FAIL")


def test_install_time_prints_its_figures() -> None:
    """One warm install of a fresh clone, the way `make demo` installs (no dev tools)."""
    result = run_benchmark("install_time.py", "--sides", "new", "--caches", "warm", "--json")
    new = result["sides"]["new"]
    assert set(new) == {"what", "warm"} and set(new["warm"]) == {"seconds", "venv_mb"}
    assert new["warm"]["seconds"] > 0 and new["warm"]["venv_mb"] > 0
    assert result["target_seconds"] == 30.0
    assert result["verdict"] is None  # only a cold cache says what a fresh machine sees


def test_sweep_vs_custodian_prints_its_figures() -> None:
    """One whole `labrun reap` of a small orphaned seed (Custodian not installed here)."""
    result = run_benchmark(
        "sweep_vs_custodian.py", "--count", "9", "--custodian", "", "--no-bytecode", "--json"
    )
    labrun = result["labrun"]
    assert set(labrun) >= SIDE_KEYS and labrun["seeded"] == 9
    assert labrun["removed"] == 9 and labrun["remaining"] == 0 and labrun["controls_removed"] == 0
    assert labrun["detail"]["orphans"] == 9  # the reaper found them as orphans, and swept them
    assert result["target_seconds"] == 3.0 and result["target_ratio"] == 10.0


def test_the_sweep_through_the_strict_proxy_prints_its_figures() -> None:
    result = run_benchmark(
        "sweep_vs_custodian.py", "--count", "9", "--latency", "0.01", "--no-bytecode", "--json"
    )
    for side in ("labrun", "sequential"):
        assert set(result[side]) >= SIDE_KEYS
        assert result[side]["removed"] == 9 and result[side]["remaining"] == 0
    assert result["latency"] == 0.01 and result["target_seconds"] == 8.0
    assert result["verdict"] in ("PASS", "FAIL")


def test_start_stop_of_the_cloud_lab_prints_its_figures() -> None:
    """The small lab that needs the local cloud and Docker, against Terraform alone."""
    result = run_benchmark("start_stop.py", "--lab", "bench-cloud", "--runs", "1", "--json")
    assert result["lab"] == "bench-cloud" and result["target_ratio"] is None
    assert set(result["labrun"]["phases"]) == {"start", "stop"}
    assert set(result["peer"]["phases"]) == {"init", "apply", "destroy"}
    assert result["target_start"] == 1.0 and result["target_stop"] == 1.5
    assert result["verdict"] in ("PASS", "FAIL")


def test_reap_scale_prints_its_figures() -> None:
    result = run_benchmark("reap_scale.py", "--sizes", "3", "--json")
    assert result["rows"] == [result["rows"][0]] and result["rows"][0]["sessions"] == 3
    assert result["rows"][0]["reaped"] == 3 and result["all_reaped"] is True
    assert result["target_seconds"] == 20.0 and result["within_target"] is None  # not 200
