"""`labrun lab lint`: good labs pass, each defect of a bad lab is named by its check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from labrun.catalog import bundled_labs_dir
from labrun.commands.lab_lint import lint as lint_command
from labrun.errors import BadInput
from labrun.lint import lint, locate

TESTS = Path(__file__).resolve().parent
GOOD = [
    TESTS / "labs" / "s3-hello",
    TESTS / "labs" / "docker-hello",
    TESTS / "fixtures" / "labs" / "gpu-training",
    TESTS.parent / "benchmarks" / "labs" / "bench-builtin",
    TESTS.parent / "benchmarks" / "labs" / "bench-cloud",
]


@pytest.mark.parametrize(
    "lab", [*sorted(p for p in bundled_labs_dir().iterdir() if (p / "lab.toml").exists()), *GOOD],
    ids=lambda p: p.name,
)  # fmt: skip
def test_good_labs_have_no_error(lab: Path) -> None:
    report = lint(lab)
    assert report.ok, report.findings


@pytest.fixture
def bad_lab(tmp_path: Path) -> Path:
    """A copy of s3-hello to break."""
    lab = tmp_path / "s3-hello"
    shutil.copytree(TESTS / "labs" / "s3-hello", lab)
    return lab


def findings(lab: Path) -> set[tuple[str, str, str]]:
    return {(f.level, f.check, f.message) for f in lint(lab).findings}


def has(lab: Path, level: str, check: str, text: str) -> bool:
    return any(lv == level and c == check and text in m for lv, c, m in findings(lab))


def test_a_manifest_error_is_named(bad_lab: Path) -> None:
    toml = bad_lab / "lab.toml"
    toml.write_text(toml.read_text().replace('difficulty = "beginner"', 'difficulty = "expert"'))
    assert has(bad_lab, "error", "manifest", "difficulty: 'expert' is not one of")
    assert not lint(bad_lab).ok


def test_missing_parts_are_named(bad_lab: Path) -> None:
    (bad_lab / "README.md").unlink()
    (bad_lab / "check.py").unlink()
    assert has(bad_lab, "error", "files", "README.md is missing")
    assert has(bad_lab, "error", "files", "check.py is missing")


def test_a_checker_that_is_not_python_or_misses_a_task(bad_lab: Path) -> None:
    check_py = bad_lab / "check.py"
    text = check_py.read_text()
    check_py.write_text(text.replace('@task("content"', '@task("contents"'))
    assert has(bad_lab, "error", "checker", "task 'content' has no check function")
    assert has(bad_lab, "warning", "checker", "checks 'contents', which lab.toml does not declare")
    check_py.write_text("def broken(:\n")
    assert has(bad_lab, "error", "checker", "check.py line 1")


def test_terraform_that_does_not_parse_is_named_with_file_and_line(bad_lab: Path) -> None:
    (bad_lab / "terraform" / "extra.tf").write_text('resource "terraform_data" {\n')
    assert has(bad_lab, "error", "terraform", "extra.tf line 1")


def test_labrun_variables_declared_and_used(bad_lab: Path) -> None:
    main = bad_lab / "terraform" / "main.tf"
    main.write_text(
        main.read_text()
        + 'variable "labrun_region" { type = string }\n'
        + 'variable "size" { type = number }\n'
        + 'variable "name" {\n  type = string\n  default = "x"\n}\n'
        + 'variable "labrun_lab" { type = string }\n'
        + 'output "n" { value = "${var.name}-${var.size}-${var.missing}" }\n'
    )
    assert has(bad_lab, "error", "variables", "labrun_region: labrun sets no such variable")
    assert has(bad_lab, "error", "variables", "size has no default")
    assert not has(bad_lab, "error", "variables", "name has no default")
    assert has(bad_lab, "warning", "variables", "labrun_lab is declared but never used")
    assert has(bad_lab, "error", "variables", "var.missing is used but not declared")


def test_aws_resources_must_use_the_labrun_tags(bad_lab: Path) -> None:
    (bad_lab / "terraform" / "main.tf").write_text(
        'variable "labrun_session" { type = string }\n'
        'resource "aws_s3_bucket" "b" { bucket = "b-${var.labrun_session}" }\n'
    )
    assert has(bad_lab, "error", "variables", "AWS resources without var.labrun_tags")


def test_a_lab_on_aws_without_a_budget_is_warned(bad_lab: Path) -> None:
    toml = bad_lab / "lab.toml"
    toml.write_text(toml.read_text().replace('targets = ["local"]', 'targets = ["local", "aws"]'))
    assert has(bad_lab, "warning", "budget", "without a budget_usd")
    assert lint(bad_lab).ok  # a warning, not an error


def test_the_command_prints_json_and_exits_1_on_errors(bad_lab: Path) -> None:
    (bad_lab / "check.py").unlink()
    # The `labrun` entry point turns a command's return value into the exit code.
    result = CliRunner().invoke(lint_command, [str(bad_lab), "--json"], standalone_mode=False)
    assert result.return_value == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["lab"] == "s3-hello"
    assert {"level": "error", "check": "files", "message": report["findings"][0]["message"]} in (
        report["findings"]
    )
    args = ["s3-hello", "--labs-dir", str(TESTS / "labs")]
    good = CliRunner().invoke(lint_command, args, standalone_mode=False)
    assert good.return_value == 0 and "s3-hello: no errors" in good.output


def test_a_lab_that_is_nowhere_is_one_line() -> None:
    with pytest.raises(BadInput, match="no lab folder 'nowhere'"):
        locate("nowhere")
