"""A lab session played as a learner plays it: through the real `labrun` command line.

`LabSession.start` runs `labrun start LAB --json` in a LABRUN_HOME of the test's own, with
this process's environment minus what would point labrun elsewhere (CLEARED). The session
then offers what a learner has after `eval "$(labrun env)"`: its environment, workspace and
outputs, boto3 clients for its cloud, `labrun check` (the CLI) and the same check through the
Python API (faster). `stop` runs `labrun stop --json` and returns the receipt for the test
to judge: what a stopped lab must leave behind is each lab's own business.

A lab's tests subclass LabSession to add what a learner does in that lab.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Self

import boto3

from labrun import grading
from labrun.checker import TaskResult
from labrun.grading import CheckReport
from labrun.session import Session
from labrun.store import SessionStore

# Set on a developer's machine, these would send the CLI to another cloud, labs, Terraform or
# session.
CLEARED = ("AWS_ENDPOINT_URL", "LABRUN_LABS_PATH", "LABRUN_TERRAFORM", "LABRUN_SESSION")


def clean_env(
    home: Path, owner: str | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment, plus `extra`, for the CLI to run in `home`.

    LABRUN_OWNER is `owner` when given (else this process's), and the CLEARED variables are
    dropped: a module-scoped fixture runs before tests/conftest.py clears them.
    """
    env = {**os.environ, **(extra or {}), "LABRUN_HOME": str(home)}
    if owner is not None:
        env["LABRUN_OWNER"] = owner
    for key in CLEARED:
        env.pop(key, None)
    return env


def aws_client(service: str, env: Mapping[str, str]) -> Any:
    """A boto3 client for `service` in the cloud a session env points at (the local one)."""
    return boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    ).client(service, endpoint_url=env["AWS_ENDPOINT_URL"])


def by_id(report: CheckReport) -> dict[str, TaskResult]:
    """A graded attempt's tasks, by their id."""
    return {t.id: t for t in report.tasks}


def statuses(report: CheckReport) -> dict[str, str]:
    """Each task's status (pass, partial, fail, blocked), by its id."""
    return {t.id: t.status for t in report.tasks}


class LabSession:
    """One session of a lab, started with `labrun start LAB --json` (see `start`)."""

    def __init__(
        self, home: Path, cli_env: dict[str, str], started: dict[str, Any], timeout: float
    ) -> None:
        self.home = home
        self.cli_env = cli_env  # the CLI's environment
        self.started = started  # what `labrun start --json` printed
        self.timeout = timeout
        self.id: str = started["session"]
        self.env = {**cli_env, **started["env"]}  # after `eval "$(labrun env)"`
        self.workspace = Path(started["workspace"])
        self.outputs: dict[str, Any] = started["outputs"]

    @classmethod
    def start(
        cls,
        lab: str,
        home: Path,
        *,
        owner: str | None = None,
        env: Mapping[str, str] | None = None,
        labs_dir: Path | None = None,
        timeout: float = 180,
    ) -> Self:
        """`labrun start LAB --json` in `home` (see `clean_env` for `owner` and `env`).

        `labs_dir` is passed as --labs-dir; `timeout` bounds each CLI run of the session.
        """
        cli_env = clean_env(home, owner, env)
        where = ["--labs-dir", str(labs_dir)] if labs_dir is not None else []
        started = _run(cli_env, ["start", lab, *where, "--json"], timeout)
        assert started.returncode == 0, started.stderr
        return cls(home, cli_env, json.loads(started.stdout), timeout)

    def labrun(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The labrun command line, as the learner runs it."""
        return _run(self.cli_env, list(args), self.timeout)

    def client(self, service: str) -> Any:
        """A boto3 client for `service`, in the session's cloud."""
        return aws_client(service, self.env)

    @cached_property
    def store(self) -> SessionStore:
        """The session store of the CLI's LABRUN_HOME (opened on first use)."""
        return SessionStore(self.home / "sessions.db")

    @cached_property
    def session(self) -> Session:
        """The session as the store held it on first use."""
        return self.store.get(self.id)

    def check(self) -> CheckReport:
        """Grade the session through the Python API (the test's LABRUN_HOME must be `home`)."""
        return grading.check(self.store, self.store.get(self.id))

    def cli_check(self) -> tuple[int, dict[str, Any]]:
        """`labrun check SESSION --json`: its exit code and report."""
        checked = self.labrun("check", self.id, "--json")
        return checked.returncode, json.loads(checked.stdout)

    def stop(self) -> tuple[int, dict[str, Any]]:
        """`labrun stop SESSION --json`: its exit code and receipt.

        A session on the local cloud stops the cloud with it when it is the last; `labrun
        cloud down` after it makes sure that no cloud is ever left behind.
        """
        stopped = self.labrun("stop", self.id, "--json")
        if "AWS_ENDPOINT_URL" in self.started["env"]:  # as labrun tells a cloud session
            self.labrun("cloud", "down")
        return stopped.returncode, json.loads(stopped.stdout)


def _run(env: dict[str, str], args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labrun", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
