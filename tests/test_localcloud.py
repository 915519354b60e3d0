"""The embedded local cloud, against real moto server processes."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from labrun import localcloud
from labrun.commands.cloud import cloud
from labrun.errors import LabrunError


def server_pids(home: Path) -> list[int]:
    """Every local cloud process of this LABRUN_HOME, found by its command line."""
    marker = os.fsencode(home.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"labrun.localcloud" in argv and marker in argv:
            pids.append(int(entry.name))
    return pids


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LABRUN_HOME", str(tmp_path))
    yield tmp_path
    localcloud.stop()
    leftovers = server_pids(tmp_path)
    for pid in leftovers:  # a server that escaped its state file must not outlive the test
        os.kill(pid, signal.SIGKILL)
    assert leftovers == []


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cloud, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_up_starts_a_server_that_boto3_can_use(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = invoke("up")
    current = localcloud.status()
    assert current.running
    assert out == f"Local cloud running at http://127.0.0.1:{current.port} (pid {current.pid})\n"
    assert server_pids(home) == [current.pid]

    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
    assert current.endpoint is not None
    for name, value in localcloud.aws_env(current.endpoint).items():
        monkeypatch.setenv(name, value)
    s3 = boto3.session.Session().client("s3")  # everything comes from the environment
    s3.create_bucket(Bucket="lab-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["lab-bucket"]


def test_the_running_server_is_reused() -> None:
    first = localcloud.ensure_running()
    second = localcloud.ensure_running()
    assert (second.pid, second.port, second.started_at) == (first.pid, first.port, first.started_at)
    assert json.loads(invoke("up", "--json")) == first.to_json()


def test_concurrent_starts_share_one_server(home: Path) -> None:
    code = "from labrun.localcloud import ensure_running; print(ensure_running().pid)"
    starters = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    pids = {int(p.communicate(timeout=60)[0]) for p in starters}
    assert len(pids) == 1
    assert server_pids(home) == list(pids)


def test_status_when_down() -> None:
    assert localcloud.status() == localcloud.NOT_RUNNING
    assert "not running" in invoke("status")
    assert json.loads(invoke("status", "--json")) == {
        "running": False,
        "pid": None,
        "port": None,
        "endpoint": None,
        "started_at": None,
    }


def test_status_of_a_running_server() -> None:
    started = localcloud.ensure_running()
    out = invoke("status")
    assert "running" in out
    assert f"endpoint:   {started.endpoint}" in out
    assert f"pid:        {started.pid}" in out
    document = json.loads(invoke("status", "--json"))
    assert document == started.to_json()
    assert document["started_at"].endswith("Z")


def test_stop_ends_the_server_and_its_record(home: Path) -> None:
    localcloud.ensure_running()
    begun = time.monotonic()
    assert localcloud.stop() is True
    assert time.monotonic() - begun < 5  # SIGTERM was enough: no wait for SIGKILL
    assert server_pids(home) == []
    assert not localcloud.state_file().exists()
    assert localcloud.status() == localcloud.NOT_RUNNING
    assert localcloud.stop() is False
    assert b"local cloud stopped" in localcloud.log_file().read_bytes()


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("pid", [dead_pid(), os.getpid()], ids=["dead-pid", "reused-pid"])
def test_a_stale_state_file_is_ignored_and_replaced(pid: int) -> None:
    stale = {"pid": pid, "port": 1, "started_at": "2020-01-01T00:00:00Z"}
    localcloud.state_file().write_text(json.dumps(stale))
    assert localcloud.status() == localcloud.NOT_RUNNING
    assert not localcloud.state_file().exists()
    localcloud.state_file().write_text(json.dumps(stale))
    started = localcloud.ensure_running()
    assert started.running
    assert started.pid != pid
    assert json.loads(localcloud.state_file().read_text())["pid"] == started.pid


def test_a_corrupt_state_file_is_ignored() -> None:
    localcloud.state_file().write_text("{not json")
    assert localcloud.status() == localcloud.NOT_RUNNING
    assert localcloud.ensure_running().running


def test_a_hung_server_is_replaced(home: Path) -> None:
    hung = localcloud.ensure_running()
    assert hung.pid is not None
    os.kill(hung.pid, signal.SIGSTOP)  # still ours by pid and cmdline, but it cannot answer
    assert localcloud.status() == localcloud.NOT_RUNNING
    fresh = localcloud.ensure_running()
    assert fresh.running
    assert fresh.pid != hung.pid
    assert server_pids(home) == [fresh.pid]


def test_a_server_that_does_not_come_up_in_time_is_killed(home: Path) -> None:
    with pytest.raises(LabrunError, match=r"did not come up within 0\.001 s: see .*server\.log"):
        localcloud.ensure_running(timeout=0.001)
    assert server_pids(home) == []
    assert localcloud.status() == localcloud.NOT_RUNNING


def test_env_prints_export_lines_and_json() -> None:
    endpoint = localcloud.ensure_running().endpoint
    assert endpoint is not None
    expected = localcloud.aws_env(endpoint)
    assert list(expected) == [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ]
    assert expected["AWS_REGION"] == localcloud.REGION == "us-east-1"
    lines = invoke("env").splitlines()
    assert lines == [f"export {k}={shlex.quote(v)}" for k, v in expected.items()]
    parsed = dict(shlex.split(line)[1].split("=", 1) for line in lines)
    assert parsed == expected
    assert json.loads(invoke("env", "--json")) == expected


def test_env_requires_a_running_cloud() -> None:
    result = CliRunner().invoke(cloud, ["env"])
    assert isinstance(result.exception, LabrunError)
    assert str(result.exception) == "the local cloud is not running: run `labrun cloud up`"


def test_down_refuses_while_local_sessions_are_active(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = localcloud.ensure_running()
    monkeypatch.setattr(localcloud, "active_local_sessions", lambda: ["abcd1234"])
    result = CliRunner().invoke(cloud, ["down"])
    assert isinstance(result.exception, LabrunError)
    assert "abcd1234" in str(result.exception)
    assert "--force" in str(result.exception)
    assert localcloud.status().pid == started.pid
    assert localcloud.stop_if_idle() is False
    assert json.loads(invoke("down", "--force", "--json")) == {"stopped": True}
    assert server_pids(home) == []


def test_down_without_sessions() -> None:
    localcloud.ensure_running()
    assert localcloud.active_local_sessions() == []  # a fresh LABRUN_HOME has none
    assert invoke("down") == "Stopped the local cloud.\n"
    assert invoke("down") == "The local cloud was not running.\n"
    assert json.loads(invoke("down", "--json")) == {"stopped": False}


def test_stop_if_idle_stops_an_unused_cloud() -> None:
    localcloud.ensure_running()
    assert localcloud.stop_if_idle() is True
    assert localcloud.status() == localcloud.NOT_RUNNING


def test_importing_labrun_cloud_code_does_not_import_moto() -> None:
    code = (
        "import sys, labrun.localcloud, labrun.commands.cloud;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'boto3')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
