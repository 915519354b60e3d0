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
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labrun import tferrors
from labrun.catalog import Lab
from labrun.tfengine import terraform_command
from labrun.tfmodule import copy_module

Status = Literal["mirrored", "builtin", "failed"]
MIRROR_TIMEOUT = 900.0  # seconds for one module: the aws provider alone is ~100 MB a platform
DEFAULT_REGISTRY = "registry.terraform.io"
_REQUIRED_PROVIDERS = re.compile(r"\brequired_providers\s*\{")
_SOURCE_ENTRY = re.compile(r'(\w[\w-]*)\s*=\s*\{[^{}]*?\bsource\s*=\s*"([^"]+)"', re.S)
_RESOURCE_TYPE = re.compile(r'^\s*(?:resource|data)\s+"([a-z0-9]+)_', re.M)
_MIRRORING = re.compile(r"^- Mirroring (\S+?)\.\.\.$")
_SELECTED = re.compile(r"^\s+- Selected v(\S+) to meet constraints")


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


@dataclass(frozen=True)
class Need:
    """A registry provider one Terraform configuration of a lab needs (`hashicorp/aws`)."""

    provider: str
    part: str  # "terraform" (the lab's module) or "files" (the learner's own Terraform)
    offline: bool  # in LABRUN_PROVIDER_MIRROR, so init needs no registry

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "part": self.part, "offline": self.offline}


def provider_needs(lab: Lab, mirror: str | None = None) -> list[Need]:
    """The registry providers a lab's Terraform needs, and whether each is available
    offline, i.e. in the provider mirror (``mirror``, else LABRUN_PROVIDER_MIRROR).

    A light scan of the `.tf` files, no Terraform and no network, so `labrun list` stays
    fast: the `source` of each required_providers entry, and `hashicorp/TYPE` for resource
    types with no entry (Terraform's default). The builtin provider (terraform_data) needs
    nothing. The plugin cache does not count: Terraform still asks the registry which
    versions exist before it uses a cached provider.
    """
    folder = mirror if mirror is not None else os.environ.get("LABRUN_PROVIDER_MIRROR")
    root = Path(folder).expanduser() if folder else None
    needs: list[Need] = []
    for part, module in lab_modules(lab):
        for address in sorted(_scan_providers(module)):
            needs.append(Need(_short(address), part, _in_mirror(root, address)))
    return needs


def _scan_providers(module: Path) -> set[str]:
    """Full provider addresses (`registry.terraform.io/hashicorp/aws`) a folder's .tf need."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in _tf_files(module)]
    sources: dict[str, str] = {}
    for text in texts:
        for block in _blocks(text, _REQUIRED_PROVIDERS):
            sources.update((m[1], m[2]) for m in _SOURCE_ENTRY.finditer(block))
    used = {m[1] for text in texts for m in _RESOURCE_TYPE.finditer(text)} - {"terraform"}
    addresses = {*sources.values(), *(f"hashicorp/{t}" for t in used if t not in sources)}
    return {a if a.count("/") == 2 else f"{DEFAULT_REGISTRY}/{a}" for a in addresses}


def _blocks(text: str, opening: re.Pattern[str]) -> list[str]:
    """The bodies of the blocks that ``opening`` starts (up to its matching brace)."""
    bodies = []
    for match in opening.finditer(text):
        depth, index = 1, match.end()
        while depth and index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        bodies.append(text[match.end() : index - 1])
    return bodies


def _in_mirror(root: Path | None, address: str) -> bool:
    """Whether a mirror holds ``address`` for this platform, packed (what `labrun providers
    mirror` writes) or unpacked (HOST/NS/TYPE/VERSION/OS_ARCH/)."""
    if root is None:
        return False
    folder = root / address
    kind = address.rsplit("/", 1)[-1]
    os_arch = terraform_platform()
    packed = folder.glob(f"terraform-provider-{kind}_*_{os_arch}.zip")
    return any(packed) or any(folder.glob(f"*/{os_arch}"))


def terraform_platform() -> str:
    """This machine's platform as Terraform names it (`linux_amd64`)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{platform.system().lower()}_{arch.get(machine, machine)}"


def _short(address: str) -> str:
    return address.removeprefix(f"{DEFAULT_REGISTRY}/")


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
    for line in lines:
        if mirroring := _MIRRORING.match(line):
            run.providers.append(mirroring[1])
        elif (selected := _SELECTED.match(line)) and run.providers:
            run.providers[-1] += f" v{selected[1]}"
    run.errors = tferrors.text_errors(lines)
    return run


def terraform_error(output: str) -> str:
    """One line for Terraform's first error in ``output``, e.g. `kreuzwerker/docker: could
    not connect to registry.terraform.io` (for messages, and for tests that skip)."""
    run = _read(1, output)
    return tferrors.first_error(run.errors, run.code)


def _explain(run: _Run) -> str:
    """One line for a failed mirror, with what to do when the registry is out of reach."""
    line = tferrors.first_error(run.errors, run.code)
    if "could not connect to" in line:
        line += " (no internet access? Mirror on a machine that has it, then copy the folder)"
    return line
