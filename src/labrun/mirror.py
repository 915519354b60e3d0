"""A provider mirror for classrooms with a poor network: `labrun providers mirror DIR`.

On a machine with internet access, `mirror_labs` runs `terraform providers mirror DIR` on
each lab's Terraform (its module, and the learner's starter configuration when `files/`
holds `.tf` files), through labrun's Terraform runner: the embedded Terraform, or
LABRUN_TERRAFORM. DIR then holds every provider those labs need, in the layout Terraform
calls a packed filesystem mirror
(`HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip`, plus JSON indexes
that only a network mirror reads).

Copy DIR to the classroom machines and set `LABRUN_PROVIDER_MIRROR=DIR`: every `init`
labrun runs then passes `-plugin-dir DIR`, which installs providers from that folder only
and never contacts a registry (`-plugin-dir` reads the same packed layout as a CLI
`filesystem_mirror` block). Learners' own Terraform uses it the same way:
`terraform init -plugin-dir "$LABRUN_PROVIDER_MIRROR"`.

Labs whose Terraform uses only Terraform's builtin provider (`terraform_data`) need nothing
and are reported so. A lab whose providers cannot be downloaded is reported in one line,
and the others still run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labrun.catalog import Lab
from labrun.tfengine import terraform_command
from labrun.tfmodule import copy_module

Status = Literal["mirrored", "builtin", "failed"]
MIRROR_TIMEOUT = 900.0  # seconds for one module: the aws provider alone is ~100 MB a platform
MAX_DETAIL = 200  # characters of Terraform's explanation kept in the one-line message
_MIRRORING = re.compile(r"^- Mirroring (\S+?)\.\.\.$")
_SELECTED = re.compile(r"^\s+- Selected v(\S+) to meet constraints")
_ERROR = re.compile(r"^(?:│\s*)?Error: (.+)$")
_UNREACHABLE = re.compile(r"could not connect to ([^\s:]+)")
_PROVIDER = re.compile(r"(?:for provider|Failed to download)\s+(\S+?)(?::|\s|$)")


@dataclass(frozen=True)
class LabMirror:
    """What mirroring one lab did: its providers (`address vVERSION`), or why it failed."""

    lab: str
    status: Status
    message: str
    providers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "status": self.status,
            "message": self.message,
            "providers": list(self.providers),
        }


@dataclass
class MirrorReport:
    """Every lab's outcome; ``ok`` when none failed."""

    directory: Path
    labs: list[LabMirror] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.status != "failed" for item in self.labs)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "labs": [item.to_json() for item in self.labs],
        }


@dataclass
class _Run:
    """One `terraform providers mirror`, read from its output."""

    code: int
    providers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def lab_modules(lab: Lab) -> list[tuple[str, Path]]:
    """The Terraform configurations of a lab: ("terraform", its module) and, when its
    starter files hold Terraform for the learner to run, ("files", that folder)."""
    parts = [("terraform", lab.terraform_dir)]
    if lab.files_dir.is_dir() and _tf_files(lab.files_dir):
        parts.append(("files", lab.files_dir))
    return parts


def mirror_labs(
    labs: Iterable[Lab],
    directory: Path,
    *,
    platforms: Iterable[str] = (),
    log_path: Path | None = None,
    on_lab: Callable[[LabMirror], None] | None = None,
) -> MirrorReport:
    """Mirror the providers of every lab into ``directory`` (created if need be).

    ``platforms`` are Terraform's OS_ARCH names (``linux_amd64``); none means this
    machine's. Terraform's whole output goes to ``log_path`` when one is given.
    """
    terraform_command()  # a bad LABRUN_TERRAFORM is one usage error, not one per lab
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)  # Terraform fails on a missing folder
    report = MirrorReport(directory)
    for lab in labs:
        outcome = mirror_lab(lab, directory, platforms=platforms, log_path=log_path)
        report.labs.append(outcome)
        if on_lab is not None:
            on_lab(outcome)
    return report


def mirror_lab(
    lab: Lab, directory: Path, *, platforms: Iterable[str] = (), log_path: Path | None = None
) -> LabMirror:
    """Mirror one lab's providers; a failure is a LabMirror with one line, never a raise."""
    providers: list[str] = []
    for part, module in lab_modules(lab):
        try:
            run = _mirror_module(module, directory, list(platforms), log_path)
        except (OSError, subprocess.SubprocessError) as exc:
            return LabMirror(lab.id, "failed", f"{part}/: could not run Terraform: {exc}")
        if run.code != 0:
            where = "" if part == "terraform" else f"{part}/ (the learner's Terraform): "
            return LabMirror(lab.id, "failed", where + _explain(run), tuple(providers))
        providers += [p for p in run.providers if p not in providers]
    if not providers:
        message = "nothing to mirror: its Terraform uses only Terraform's builtin provider"
        return LabMirror(lab.id, "builtin", message)
    return LabMirror(lab.id, "mirrored", f"mirrored {', '.join(providers)}", tuple(providers))


def _mirror_module(
    module: Path, directory: Path, platforms: list[str], log_path: Path | None
) -> _Run:
    """`terraform providers mirror` on a copy of ``module`` (the lab folder stays untouched:
    it may be an installed package, read-only)."""
    with tempfile.TemporaryDirectory(prefix="labrun-mirror-") as scratch:
        copy = Path(scratch) / "module"
        if module.name == "files":  # starter files: only the Terraform among them
            copy.mkdir()
            for path in _tf_files(module):
                shutil.copy2(path, copy / path.name)
        else:
            copy_module(module, copy)
        args = [
            "providers", "mirror", "-no-color", *(f"-platform={p}" for p in platforms),
            str(directory),
        ]  # fmt: skip
        env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
        proc = subprocess.run(
            [*terraform_command(), *args], cwd=copy, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            timeout=MIRROR_TIMEOUT, check=False,
        )  # fmt: skip
    if log_path is not None:
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n$ terraform {' '.join(args)}  # {module}\n")
            log.write(proc.stdout)
    return _read(proc.returncode, proc.stdout)


def _tf_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.tf"), *folder.glob("*.tf.json")])


def _read(code: int, output: str) -> _Run:
    """The providers mirrored (`address vVERSION`) and the errors, from Terraform's text."""
    run = _Run(code)
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if mirroring := _MIRRORING.match(line):
            run.providers.append(mirroring[1])
        elif (selected := _SELECTED.match(line)) and run.providers:
            run.providers[-1] += f" v{selected[1]}"
        elif error := _ERROR.match(line):
            run.errors.append(f"{error[1].strip()}: {_paragraph(lines, index + 1)}".rstrip(": "))
    return run


def _paragraph(lines: list[str], start: int) -> str:
    """The explanation Terraform prints under an "Error:" line: its first paragraph."""
    words: list[str] = []
    for line in lines[start:]:
        text = line.strip().lstrip("│").strip()
        if text.startswith("╵") or (not text and words):
            break
        words.extend(text.split())
    return " ".join(words)


def terraform_error(output: str) -> str:
    """One line for Terraform's first error in ``output``, e.g. `kreuzwerker/docker: could
    not connect to registry.terraform.io` (for messages, and for tests that skip)."""
    return _first_error(_read(1, output))


def _explain(run: _Run) -> str:
    """One line for a failed mirror, with what to do when the registry is out of reach."""
    line = _first_error(run)
    if _UNREACHABLE.search(line):
        line += " (no internet access? Mirror on a machine that has it, then copy the folder)"
    return line


def _first_error(run: _Run) -> str:
    """The provider and the registry it could not reach, when that is the problem, else
    Terraform's first error, shortened."""
    if not run.errors:
        return f"terraform exited with {run.code} and printed no error"
    text = run.errors[0]
    unreachable = _UNREACHABLE.search(text)
    if unreachable:
        named = _PROVIDER.search(text)
        provider = named[1].removeprefix("registry.terraform.io/") + ": " if named else ""
        return f"{provider}could not connect to {unreachable[1]}"
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."
