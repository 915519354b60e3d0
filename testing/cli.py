"""Running the real `labrun` command line from tests, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def labrun(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`labrun ARGS...` in a child process (the environment is this process's, plus `env`),
    in the folder `cwd` (else this process's), reading `stdin` (else nothing)."""
    return subprocess.run(
        [sys.executable, "-m", "labrun", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input=stdin if stdin is not None else "",
        check=False,
    )


def labrun_json(
    *args: str, expect: int = 0, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Any:
    """`labrun ARGS... --json`: check the exit code and that stdout is exactly one JSON document."""
    proc = labrun(*args, "--json", env=env, cwd=cwd)
    assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    return json.loads(proc.stdout)


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`labrun ARGS...` started in a child process, for a test to pause, interrupt or kill."""
    return subprocess.Popen(
        [sys.executable, "-m", "labrun", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_for(condition: Callable[[], object], timeout: float = 60, every: float = 0.05) -> None:
    """Poll `condition` until it is true (its exceptions count as false), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout:g} s")
