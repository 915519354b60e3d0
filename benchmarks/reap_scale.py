"""How the reaper's cost grows with the number of expired sessions.

Target (from the issue): reaping cost grows linearly with the number of sessions, and 200
expired sessions are reaped in one run; issue 10: in at most 20 s (the reaper tears
independent sessions down several at once). For each size N, a fresh LABRUN_HOME gets N
sessions of the builtin-provider benchmark lab (started through labrun's own API), all
marked expired, then one `labrun reap --json` is timed. Linear growth shows as a steady
cost per session.

This is a measurement, not a test: it exits 0 whatever the verdict, 1 only on an error.

    .venv/bin/python benchmarks/reap_scale.py [--sizes 50,100,200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

LABS_DIR = Path(__file__).resolve().parent / "labs"
LAB = "bench-builtin"
TARGET_SECONDS = 20.0  # for 200 sessions


def seed(home: Path, count: int) -> None:
    """`count` active sessions, then every one of them past its expiry."""
    os.environ["LABRUN_HOME"] = str(home)
    from labrun import provision
    from labrun.catalog import find_lab
    from labrun.session import utcnow
    from labrun.store import SessionStore

    store = SessionStore.open()
    lab = find_lab(LAB, LABS_DIR)
    for _ in range(count):
        session = provision.start(store, lab)
        store.update(session.id, expires_at=utcnow() - timedelta(minutes=1))


def reap(home: Path) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "LABRUN_HOME": str(home)}
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "labrun", "reap", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"labrun reap failed ({proc.returncode}): {proc.stderr.strip()}")
    return seconds, json.loads(proc.stdout)


def measure(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="labrun-reap-bench-") as tmp:
        home = Path(tmp)
        seed(home, size)
        seconds, report = reap(home)
        reaped = sum(1 for s in report["sessions"] if s.get("ok"))
        return {
            "sessions": size,
            "reaped": reaped,
            "seconds": round(seconds, 3),
            "per_session": round(seconds / size, 4),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200", help="comma-separated session counts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [measure(size) for size in sizes]
    first, last = rows[0], rows[-1]
    growth = last["per_session"] / first["per_session"] if first["per_session"] else 0.0
    all_reaped = all(r["reaped"] == r["sessions"] for r in rows)
    verdict = {
        "target_seconds": TARGET_SECONDS,
        "within_target": last["seconds"] <= TARGET_SECONDS if last["sessions"] == 200 else None,
        "all_reaped": all_reaped,
        "per_session_growth": round(growth, 2),  # ~1.0 means linear
        "linear": growth < 1.5,
    }
    if args.json:
        print(json.dumps({"rows": rows, **verdict}, indent=2))
        return 0
    print(f"labrun reap of N expired sessions of {LAB} (one reap run per N)")
    print(f"{'sessions':>9} {'reaped':>7} {'seconds':>9} {'s/session':>10}")
    for r in rows:
        print(f"{r['sessions']:>9} {r['reaped']:>7} {r['seconds']:>9.2f} {r['per_session']:>10.4f}")
    if verdict["within_target"] is not None:
        met = "PASS" if verdict["within_target"] else "FAIL"
        print(f"200 sessions in {last['seconds']:.2f}s (target <= {TARGET_SECONDS:g}s): {met}")
    print(
        f"cost per session at {last['sessions']} vs {first['sessions']}: {growth:.2f}x "
        f"({'linear' if verdict['linear'] else 'NOT linear'}); "
        f"every session reaped: {'yes' if all_reaped else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
