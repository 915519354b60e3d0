"""The Terraform side: module inspection, the files labrun writes, and both engines."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from labrun import tfmodule
from labrun.errors import LabrunError
from labrun.tfengine import Terraform
from testing.cli import labrun, labrun_json

REPO = Path(__file__).resolve().parent.parent

AWS_MODULE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
%s
variable "labrun_tags" { type = map(string) }
resource "aws_s3_bucket" "b" { bucket = "b" }
"""


def module(tmp_path: Path, text: str, name: str = "m") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.tf").write_text(text)
    return folder


def test_the_shared_variables_file_declares_every_labrun_variable() -> None:
    info = tfmodule.inspect_module(REPO / "terraform")
    assert info.variables == frozenset(tfmodule.LABRUN_VARIABLES)


def test_only_declared_variables_are_written(tmp_path: Path) -> None:
    folder = module(tmp_path, 'variable "labrun_session" { type = string }\n')
    info = tfmodule.inspect_module(folder)
    written = tfmodule.write_variables(folder, info, {"labrun_session": "s1", "labrun_lab": "x"})
    assert written == ["labrun_session"]
    assert json.loads((folder / tfmodule.TFVARS_FILE).read_text()) == {"labrun_session": "s1"}


@pytest.mark.parametrize(
    ("provider_block", "expected_file"),
    [
        ('provider "aws" {\n  region = "eu-west-1"\n}', tfmodule.AWS_OVERRIDE_FILE),
        ("", tfmodule.AWS_PROVIDER_FILE),
    ],
)
def test_the_aws_provider_is_pointed_at_the_local_cloud(
    tmp_path: Path, provider_block: str, expected_file: str
) -> None:
    folder = module(tmp_path, AWS_MODULE % provider_block)
    info = tfmodule.inspect_module(folder)
    assert info.uses_aws
    tags = {"labrun:session": "s1", "labrun:owner": "me"}
    written = tfmodule.write_local_aws_provider(
        folder, info, "http://127.0.0.1:5000", "us-east-1", tags
    )
    assert written == folder / expected_file
    text = written.read_text()
    assert 's3 = "http://127.0.0.1:5000"' in text and "s3_use_path_style           = true" in text
    assert '"labrun:session" = "s1"' in text
    # Terraform's own loader accepts the result (an override must match an existing block).
    tfmodule.inspect_module(folder)


def test_a_module_without_aws_gets_no_provider_file(tmp_path: Path) -> None:
    folder = module(tmp_path, 'resource "terraform_data" "x" {}\n')
    info = tfmodule.inspect_module(folder)
    assert not info.uses_aws
    assert tfmodule.write_local_aws_provider(folder, info, "http://x", "us-east-1", {}) is None


def test_a_module_terraform_cannot_read_fails_the_start_in_one_line(
    tmp_path: Path, test_labs: Path
) -> None:
    import shutil

    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "slow-check", labs / "slow-check")
    (labs / "slow-check" / "terraform" / "main.tf").write_text('resource "terraform_data" "x" {\n')
    proc = labrun("start", "slow-check", "--labs-dir", str(labs))
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "main.tf line 1: Unclosed configuration block" in proc.stderr
    # Terraform's config loader reads the module before anything exists: no session at all.
    assert labrun_json("status", "--all")["sessions"] == []


def test_variables_and_aws_use_are_read_from_tf_json_too(tmp_path: Path) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    (folder / "main.tf.json").write_text(
        json.dumps({"variable": {"labrun_tags": {}}, "resource": {"aws_sqs_queue": {"q": {}}}})
    )
    info = tfmodule.inspect_module(folder)
    assert info.variables == {"labrun_tags"} and info.uses_aws
    (folder / "main.tf.json").write_text("{")
    with pytest.raises(LabrunError, match=r"main\.tf\.json line 1: Missing value"):
        tfmodule.inspect_module(folder)


def write_terraform_executable(tmp_path: Path) -> Path:
    """A `terraform` executable, as LABRUN_TERRAFORM would name (the embedded one inside)."""
    script = tmp_path / "bin" / "terraform"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m labrun.tfworker "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize("engine", ["embedded", "executable"])
def test_both_engines_apply_stream_progress_and_destroy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    if engine == "executable":
        monkeypatch.setenv("LABRUN_TERRAFORM", str(write_terraform_executable(tmp_path)))
    folder = module(
        tmp_path,
        'variable "n" {\n  type = number\n  default = 3\n}\n'
        'resource "terraform_data" "r" {\n  count = var.n\n  input = count.index\n'
        '  provisioner "local-exec" { command = "echo $LABRUN_SESSION > out-${count.index}" }\n}\n'
        'output "inputs" { value = terraform_data.r[*].output }\n'
        'output "secret" {\n  value = "s3cret"\n  sensitive = true\n}\n',
    )
    terraform = Terraform(folder, {"LABRUN_SESSION": "sess1"}, tmp_path / "tf.log")
    assert terraform.init().ok
    seen: list[tuple[int, int]] = []
    applied = terraform.apply(lambda p: seen.append((p.done, p.total)))
    assert applied.ok, applied.errors
    expected = [f"terraform_data.r[{i}]" for i in range(3)]
    assert sorted(applied.changed) == expected
    assert applied.outputs == {"inputs": [0, 1, 2], "secret": "s3cret"}
    assert seen[-1] == (3, 3)
    assert (folder / "out-0").read_text().strip() == "sess1"  # the session env reached Terraform
    assert terraform.state_addresses() == expected
    destroyed = terraform.destroy()
    assert destroyed.ok and sorted(destroyed.changed) == expected
    assert terraform.state_addresses() == []
    assert "$ terraform apply" in (tmp_path / "tf.log").read_text()


def test_a_failing_apply_reports_terraforms_error(tmp_path: Path) -> None:
    folder = module(
        tmp_path,
        'resource "terraform_data" "x" {\n  provisioner "local-exec" { command = "exit 7" }\n}\n',
    )
    terraform = Terraform(folder, {}, tmp_path / "tf.log")
    assert terraform.init().ok
    result = terraform.apply()
    assert not result.ok
    assert any("local-exec provisioner error" in e for e in result.errors), result.errors


def test_a_whole_session_through_a_terraform_executable(tmp_path: Path, test_labs: Path) -> None:
    env = {"LABRUN_TERRAFORM": str(write_terraform_executable(tmp_path))}
    started = labrun_json("start", "slow-check", "--labs-dir", str(test_labs), env=env)
    assert started["status"] == "active"
    log = Path(started["workspace"]).parent / "logs" / "terraform.log"
    assert "$ terraform apply" in log.read_text()
    assert labrun_json("stop", env=env)["destroyed"] == ["terraform_data.nothing"]
    assert os.environ.get("LABRUN_TERRAFORM") is None
