"""Every test runs with its own LABRUN_HOME and owner, and leaves no local cloud behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fixtures import docker_client  # noqa: F401

TEST_LABS = Path(__file__).parent / "labs"


@pytest.fixture(autouse=True)
def labrun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "labrun-home"
    monkeypatch.setenv("LABRUN_HOME", str(home))
    monkeypatch.setenv("LABRUN_OWNER", "test-owner")
    monkeypatch.delenv("LABRUN_LABS_PATH", raising=False)
    monkeypatch.delenv("LABRUN_TERRAFORM", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield home
    if (home / "cloud").exists():
        from labrun import localcloud

        localcloud.stop()


@pytest.fixture
def test_labs() -> Path:
    return TEST_LABS
