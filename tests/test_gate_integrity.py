"""Guardrails that cannot be walked around (issue 14): every module Terraform accepts is
priced and checked, what was priced is what is applied, unknowns are refused, and no value
from the environment or a path can change a command labrun runs.

Modules that use the hashicorp/aws provider cannot be planned here (no provider registry):
those tests run Terraform as the stand-in tests/fixtures/fake_terraform.py (see its
docstring), which plans, shows and applies plan files like Terraform does.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from labrun import localcloud
from labrun.catalog import bundled_labs_dir
from labrun.lint import lint
from labrun.session import Session, new_session_id, utcnow
from labrun.store import SessionStore
from testing.cli import labrun, labrun_json
from testing.docker_images import ensure_python_image

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GPU_PLAN = FIXTURES / "plans" / "gpu-training.json"


def plan_with(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(GPU_PLAN.read_text())
    edit(document)
    return document


def change(document: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in document["resource_changes"] if c["address"] == address)
    return found


@pytest.fixture
def gpu_lab(tmp_path: Path) -> Path:
    """A copy of the gpu-training fixture lab, to edit."""
    labs = tmp_path / "labs"
    shutil.copytree(FIXTURES / "labs" / "gpu-training", labs / "gpu-training")
    return labs


def fake_terraform(tmp_path: Path, plan: dict[str, Any], **extra: str) -> dict[str, str]:
    script = tmp_path / "bin" / "terraform"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {FIXTURES / "fake_terraform.py"} "$@"\n')
    script.chmod(0o755)
    live = tmp_path / "live-plan.json"  # what the module plans right now
    live.write_text(json.dumps(plan))
    return {
        "LABRUN_TERRAFORM": str(script),
        "FAKE_TERRAFORM_PLAN": str(live),
        "FAKE_TERRAFORM_LOG": str(tmp_path / "terraform-calls.log"),
        **extra,
    }


def calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_TERRAFORM_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def p4d(document: dict[str, Any]) -> None:
    instance = change(document, "aws_instance.trainer")
    instance["change"]["after"]["instance_type"] = "p4d.24xlarge"


def test_a_module_with_unquoted_labels_is_planned_priced_and_refused(
    tmp_path: Path, gpu_lab: Path
) -> None:
    # Valid Terraform that a regex looking for `resource "type"` does not see.
    (gpu_lab / "gpu-training" / "terraform" / "main.tf").write_text(
        "variable labrun_session { type = string }\n"
        "variable labrun_tags { type = map(string) }\n"
        "resource aws_instance trainer {\n"
        '  ami           = "ami-0abcdef1234567890"\n'
        '  instance_type = "p4d.24xlarge"\n'
        "  tags          = var.labrun_tags\n"
        "}\n"
    )
    manifest = gpu_lab / "gpu-training" / "lab.toml"  # the size is allowed: the budget refuses
    manifest.write_text(
        manifest.read_text().replace('"gpu-instance"', '"gpu-instance", "instance-size"')
    )
    env = fake_terraform(tmp_path, plan_with(p4d))
    refused = labrun_json("start", "gpu-training", "--labs-dir", str(gpu_lab), env=env, expect=2)
    assert "over the budget of $1.00" in refused["error"]
    assert "aws_instance.trainer $21.96/h" in refused["error"]  # p4d.24xlarge, root, IPv4
    assert not any(line.startswith("apply") for line in calls(env))


def test_a_module_changed_between_the_price_and_the_apply_applies_only_what_was_priced(
    tmp_path: Path, gpu_lab: Path
) -> None:
    def grown(document: dict[str, Any]) -> None:
        extra = copy.deepcopy(change(document, "aws_instance.trainer"))
        extra.update(address="aws_instance.extra", name="extra")
        extra["change"]["after"]["instance_type"] = "p4d.24xlarge"
        document["resource_changes"].append(extra)

    changed = tmp_path / "changed-plan.json"
    changed.write_text(json.dumps(plan_with(grown)))
    env = fake_terraform(
        tmp_path, plan_with(lambda _: None), FAKE_TERRAFORM_CHANGE_AFTER_SHOW=str(changed)
    )
    started = labrun_json(
        "start", "gpu-training", "--labs-dir", str(gpu_lab), "--budget", "5", env=env
    )
    state = json.loads((Path(started["workspace"]).parent / "terraform" / "terraform.tfstate")
                       .read_text())  # fmt: skip
    applied = {f"{r['type']}.{r['name']}" for r in state["resources"]}
    assert "aws_instance.extra" not in applied and "aws_instance.trainer" in applied
    assert [c for c in calls(env) if c.startswith("apply")] == [
        "apply -input=false -no-color -json labrun.tfplan"
    ]
    labrun_json("stop", started["session"], env=env)


def test_an_instance_type_unknown_at_plan_time_is_refused_naming_it(
    tmp_path: Path, gpu_lab: Path
) -> None:
    def computed(document: dict[str, Any]) -> None:
        instance = change(document, "aws_instance.trainer")["change"]
        del instance["after"]["instance_type"]
        instance["after_unknown"]["instance_type"] = True

    env = fake_terraform(tmp_path, plan_with(computed))
    refused = labrun_json("start", "gpu-training", "--labs-dir", str(gpu_lab), "--budget", "50",
                          env=env, expect=2)  # fmt: skip
    assert (
        "aws_instance.trainer (unknown-at-plan): instance_type is unknown until apply"
        in (refused["error"])
    )
    assert not any(line.startswith("apply") for line in calls(env))
    manifest = gpu_lab / "gpu-training" / "lab.toml"
    manifest.write_text(manifest.read_text().replace(
        'allow = ["gpu-instance"]', 'allow = ["gpu-instance", "unknown-at-plan"]'
    ))  # fmt: skip
    # Allowed by the lab, the policy lets it through; the budget still cannot be held.
    lifted = labrun_json("start", "gpu-training", "--labs-dir", str(gpu_lab), "--budget", "50",
                         env=env, expect=2)  # fmt: skip
    assert "cannot price aws_instance.trainer, so it cannot hold the budget" in lifted["error"]
    assert not any(line.startswith("apply") for line in calls(env))


@pytest.mark.parametrize("value", ["me\n", "me\nx", "Me", ""])
def test_an_owner_with_a_newline_or_capitals_is_refused_in_one_line(value: str) -> None:
    proc = labrun("start", "python-engineering", env={"LABRUN_OWNER": value})
    if value == "":  # empty means "not set": the generated owner is used
        assert proc.returncode == 0, proc.stderr
        labrun("stop")
        return
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1 and "LABRUN_OWNER=" in proc.stderr
    assert labrun_json("status", "--all")["sessions"] == []  # nothing was recorded


def test_a_lab_id_with_a_trailing_newline_is_refused() -> None:
    proc = labrun("show", "python-engineering\n")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


NO_DOCKER_LABS = ["python-engineering", "cloud-sdk-basics", "cloud-logs", "cost-hygiene",
                  "iac-basics"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "lab", [*NO_DOCKER_LABS, pytest.param("docker-basics", marks=pytest.mark.docker)]
)
def test_a_quote_and_a_percent_in_labrun_home_work_for_every_bundled_lab(
    tmp_path: Path, lab: str, request: pytest.FixtureRequest
) -> None:
    home = tmp_path / "o'brien $(touch pwned) 100%"
    env = {"LABRUN_HOME": str(home)}
    if lab == "docker-basics":  # its base image, built here (no registry to pull it from)
        client = request.getfixturevalue("docker_client")
        env["TF_VAR_base_image"] = ensure_python_image(client)
    started = labrun_json("start", lab, env=env)
    assert started["status"] == "active", started
    assert labrun_json("stop", started["session"], env=env)["ok"] is True
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_every_bundled_lab_passes_values_to_its_commands_through_the_environment() -> None:
    for folder in sorted(bundled_labs_dir().iterdir()):
        if (folder / "lab.toml").exists():
            spliced = [f for f in lint(folder).findings if "splices" in f.message]
            assert spliced == [], folder.name


def test_lint_flags_a_value_spliced_into_a_provisioner_command(tmp_path: Path) -> None:
    lab = tmp_path / "splice"
    shutil.copytree(Path(__file__).parent / "labs" / "s3-hello", lab)
    main = lab / "terraform" / "main.tf"
    main.write_text(main.read_text().replace('\\"$BUCKET\\""', '${self.input.bucket}"', 1))
    [finding] = [f for f in lint(lab).findings if "splices" in f.message]
    assert finding.level == "error" and "terraform_data.bucket line" in finding.message
    assert "environment" in finding.message


def cron_runs(line: str) -> str:
    """What cron hands to /bin/sh for a crontab line: the command after the five time
    fields, cut at the first unescaped % (the rest is its stdin), with \\% made %."""
    command = line.split(None, 5)[5]
    out, index = "", 0
    while index < len(command):
        if command.startswith("\\%", index):
            out, index = out + "%", index + 2
        elif command[index] == "%":
            break
        else:
            out, index = out + command[index], index + 1
    return out


def fake_os_tools(tmp_path: Path, systemd: bool) -> dict[str, str]:
    """The OS boundary: a crontab keeping its table in a file, and a systemctl that works
    (systemd) or says there is no user session (cron)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    table = tmp_path / "crontab.txt"
    (bin_dir / "crontab").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-l" ]; then cat {table} 2>/dev/null || exit 1; else cat > {table}; fi\n'
    )
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\nexit {0 if systemd else 1}\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def test_a_percent_and_a_quote_in_the_home_survive_reaper_install_with_cron(
    tmp_path: Path,
) -> None:
    home = tmp_path / "50% of o'brien"
    env = {**fake_os_tools(tmp_path, systemd=False), "LABRUN_HOME": str(home)}
    assert labrun_json("reaper", "install", "--every", "5m", env=env)["method"] == "cron"
    [line] = (tmp_path / "crontab.txt").read_text().splitlines()
    ran = subprocess.run(["/bin/sh", "-c", cron_runs(line)], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    report = json.loads((home / "logs" / "reaper.log").read_text())
    assert report["ok"] is True and report["dry_run"] is False


def test_a_percent_in_the_home_is_escaped_for_systemd(tmp_path: Path) -> None:
    home = tmp_path / "100%h"
    env = {**fake_os_tools(tmp_path, systemd=True), "LABRUN_HOME": str(home)}
    assert labrun_json("reaper", "install", "--every", "5m", env=env)["method"] == "systemd"
    unit = (tmp_path / "cfg" / "systemd" / "user" / "labrun-reaper.service").read_text()
    [exec_start] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    assert "100%%h" in exec_start and "100%h" not in exec_start.replace("%%", "")
    # systemd makes %% a %, then splits the line into words like a shell would.
    words = shlex.split(exec_start.removeprefix("ExecStart=").replace("%%", "%"))
    ran = subprocess.run(words, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["ok"] is True and (home / "sessions.db").exists()


def test_cloud_down_decides_under_the_cloud_lock(labrun_home: Path, owner: str) -> None:
    localcloud.ensure_running()
    lock_path = localcloud.cloud_dir() / "lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another labrun is starting a session right now
        down = subprocess.Popen(
            [sys.executable, "-m", "labrun", "cloud", "down"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not _holds_open(down.pid, lock_path):  # `down` is waiting for the lock
            assert time.monotonic() < deadline and down.poll() is None, down.communicate()
            time.sleep(0.05)
        now = utcnow()
        SessionStore.open().insert(Session(
            id=new_session_id(), lab="s3-hello", lab_dir=labrun_home, target="local",
            status="provisioning", created_at=now, expires_at=now + timedelta(hours=1),
            owner=owner, workdir=labrun_home / "sessions" / "x",
        ))  # fmt: skip
    _, stderr = down.communicate(timeout=60)
    assert down.returncode == 3 and "local sessions still use the local cloud" in stderr
    assert localcloud.status().running


def _holds_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (labrun opens the lock file, then waits on it)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            continue
    return False
