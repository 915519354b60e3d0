"""`labrun terraform ARGS...`: the embedded Terraform, in the current folder, in a session's
environment, with Terraform's exit code. Real sessions, real Terraform, no mocks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.labsession import LabSession

# Records what its provisioner saw: the session's cloud and id, from the environment.
MODULE = """\
resource "terraform_data" "seen" {
  input = "x"
  provisioner "local-exec" {
    command = "printf '%s %s' \\"$AWS_ENDPOINT_URL\\" \\"$LABRUN_SESSION\\" > seen.txt"
  }
}

output "seen" {
  value = terraform_data.seen.output
}
"""


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabSession]:
    """A session of iac-basics: its environment points at the lab's local cloud."""
    session = LabSession.start("iac-basics", tmp_path_factory.mktemp("home"))
    yield session
    code, receipt = session.stop()
    assert code == 0 and receipt["ok"], receipt


def terraform(
    played: LabSession, folder: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labrun", "terraform", *args], cwd=folder,
        env={**played.cli_env, **(env or {})}, input=stdin, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_init_apply_destroy_in_the_session_environment(played: LabSession, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MODULE)
    init = terraform(played, tmp_path, "init")
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Terraform has been successfully initialized" in init.stdout
    assert init.stderr == ""  # no warning about a missing CLI configuration file

    applied = terraform(played, tmp_path, "apply", stdin="yes\n")  # asks, as terraform does
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Enter a value:" in applied.stdout and "1 added" in applied.stdout
    seen = (tmp_path / "seen.txt").read_text()
    assert seen == f"{played.env['AWS_ENDPOINT_URL']} {played.id}"
    output = terraform(played, tmp_path, "output", "-json")
    assert json.loads(output.stdout) == {"seen": {"sensitive": False, "type": "string",
                                                  "value": "x"}}  # fmt: skip

    destroyed = terraform(played, tmp_path, "destroy", "-auto-approve")
    assert destroyed.returncode == 0 and "1 destroyed" in destroyed.stdout, destroyed.stderr
    state = json.loads((tmp_path / "terraform.tfstate").read_text())
    assert state["resources"] == []


def test_the_exit_code_is_terraforms(played: LabSession, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "broken" {\n')
    validated = terraform(played, tmp_path, "validate", "-no-color")
    assert validated.returncode == 1
    assert "Error: Unclosed configuration block" in validated.stderr
    plan = terraform(played, tmp_path, "plan", "-detailed-exitcode")  # before init: 1
    assert plan.returncode == 1


def test_the_session_is_named_or_inferred(played: LabSession, tmp_path: Path) -> None:
    shown = terraform(played, tmp_path, "--session", played.id, "version")
    assert shown.returncode == 0 and shown.stdout.startswith("Terraform v"), shown.stderr
    unknown = terraform(played, tmp_path, "--session", "nosuchid", "version")
    assert unknown.returncode == 2 and "nosuchid" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    nothing = terraform(played, tmp_path)
    assert nothing.returncode == 2
    assert "name a Terraform command" in nothing.stderr


def test_init_uses_the_provider_mirror(played: LabSession, tmp_path: Path) -> None:
    """With LABRUN_PROVIDER_MIRROR, init looks in that folder only: no registry is asked."""
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text(
        'terraform {\n  required_providers {\n    none = { source = "labrun-test/none" }\n  }\n}\n'
    )
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    init = terraform(
        played, module, "init", "-no-color", env={"LABRUN_PROVIDER_MIRROR": str(mirror)}
    )
    assert init.returncode == 1
    said = " ".join(init.stderr.split())  # Terraform wraps its lines
    assert "labrun-test/none was not found in any of the search locations" in said
    assert f"- {mirror}" in said


def test_in_a_workspace_the_session_is_that_workspaces(played: LabSession) -> None:
    """With two sessions active, the one whose workspace the folder is in is the one used."""
    other = LabSession.start("python-engineering", played.home)
    try:
        probe = played.workspace / "probe"
        probe.mkdir()
        (probe / "main.tf").write_text(MODULE)
        assert terraform(played, probe, "init").returncode == 0
        applied = terraform(played, probe, "apply", "-auto-approve")
        assert applied.returncode == 0, applied.stderr
        assert (probe / "seen.txt").read_text().endswith(f" {played.id}")
        assert terraform(played, probe, "destroy", "-auto-approve").returncode == 0
    finally:
        code, receipt = other.stop()
    assert code == 0 and receipt["ok"], receipt
