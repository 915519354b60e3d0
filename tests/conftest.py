"""Every test runs with its own LABRUN_HOME and owner, and leaves no local cloud behind."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fixtures import docker_client, moto_server, strict_aws  # noqa: F401

TEST_LABS = Path(__file__).parent / "labs"

# Tests press Ctrl-C (SIGINT) on labrun processes as a user at a terminal would. A shell that
# starts a job in the background (`cmd &` in a script, as a CI runner may) makes it ignore
# SIGINT, and an ignored signal stays ignored in every child: give this run, and so the
# processes it starts, the default disposition back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def labrun_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole run (it is content-addressed), out of the user's ~/.cache."""
    return tmp_path_factory.mktemp("labrun-cache")


@pytest.fixture(autouse=True)
def labrun_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, labrun_cache: Path
) -> Iterator[Path]:
    home = tmp_path / "labrun-home"
    monkeypatch.setenv("LABRUN_HOME", str(home))
    monkeypatch.setenv("LABRUN_CACHE_DIR", str(labrun_cache))
    # Each test its own owner: a reaper in one test never sees another test's resources,
    # even when several test runs share this machine's Docker engine.
    monkeypatch.setenv("LABRUN_OWNER", f"test-{uuid.uuid4().hex[:10]}")
    monkeypatch.delenv("LABRUN_LABS_PATH", raising=False)
    monkeypatch.delenv("LABRUN_TERRAFORM", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Set inside `labrun shell` or after `eval "$(labrun env)"`: it would choose the session.
    monkeypatch.delenv("LABRUN_SESSION", raising=False)
    # No session watchdog unless a test asks for one (tests/test_watchdog.py): it would race
    # the tests that reap expired sessions themselves, and outlive the test's LABRUN_HOME.
    monkeypatch.setenv("LABRUN_WATCHDOG", "off")
    yield home
    if (home / "cloud").exists():
        from labrun import localcloud

        localcloud.stop()


@pytest.fixture
def owner(labrun_home: Path) -> str:
    """This test's LABRUN_OWNER."""
    return os.environ["LABRUN_OWNER"]


@pytest.fixture
def test_labs() -> Path:
    return TEST_LABS
