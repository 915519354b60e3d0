"""Finding labs: --labs-dir, then LABRUN_LABS_PATH, then the labs bundled with labrun."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from labrun.errors import BadInput, ManifestError
from labrun.manifest import ID_RE, Manifest, load_manifest

REQUIRED_PARTS = ("README.md", "terraform", "check.py")


@dataclass(frozen=True)
class Lab:
    """A lab folder with its validated manifest."""

    path: Path
    manifest: Manifest

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def terraform_dir(self) -> Path:
        return self.path / "terraform"

    @property
    def check_py(self) -> Path:
        return self.path / "check.py"

    @property
    def files_dir(self) -> Path:
        return self.path / "files"

    @property
    def solution_dir(self) -> Path:
        return self.path / "solution"


def check_target(lab: Lab, target: str) -> None:
    """A lab runs only on the targets its manifest names."""
    if target not in lab.manifest.targets:
        supported = ", ".join(lab.manifest.targets)
        raise BadInput(f"lab {lab.id} does not run on target {target!r} (it supports: {supported})")


def bundled_labs_dir() -> Path:
    """The labs shipped with labrun: inside the package when installed, else the repo's labs/."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "labs", package_dir.parent.parent / "labs"):
        if candidate.is_dir():
            return candidate
    return package_dir / "labs"


def search_path(labs_dir: Path | None = None) -> list[Path]:
    """Folders searched for labs, first match wins: --labs-dir, LABRUN_LABS_PATH, bundled."""
    folders: list[Path] = []
    if labs_dir is not None:
        if not labs_dir.is_dir():
            raise BadInput(f"--labs-dir {labs_dir}: no such folder")
        folders.append(labs_dir)
    for entry in os.environ.get("LABRUN_LABS_PATH", "").split(os.pathsep):
        if entry:
            folders.append(Path(entry).expanduser())
    folders.append(bundled_labs_dir())
    return [f.resolve() for f in folders]


def load_lab(path: Path) -> Lab:
    """Load one lab folder, refusing it when a required part is missing."""
    manifest = load_manifest(path / "lab.toml")
    for part in REQUIRED_PARTS:
        if not (path / part).exists():
            raise ManifestError(path / part, "", "missing (every lab needs README.md, "
                                "terraform/ and check.py)")  # fmt: skip
    return Lab(path=path.resolve(), manifest=manifest)


def find_lab(lab_id: str, labs_dir: Path | None = None) -> Lab:
    """The lab called `lab_id`, or a BadInput naming where labrun looked."""
    if not ID_RE.fullmatch(lab_id):
        raise BadInput(f"{lab_id!r} is not a lab id (lowercase letters, digits and '-')")
    folders = search_path(labs_dir)
    for folder in folders:
        candidate = folder / lab_id
        if (candidate / "lab.toml").is_file():
            return load_lab(candidate)
    looked = ", ".join(str(f) for f in folders if f.is_dir()) or "nowhere"
    raise BadInput(f"no lab called {lab_id!r} (looked in {looked}); `labrun list` shows them")


def all_labs(labs_dir: Path | None = None) -> tuple[list[Lab], list[ManifestError]]:
    """Every lab on the search path (the first of each id), sorted, and the broken ones."""
    found: dict[str, Lab] = {}
    broken: list[ManifestError] = []
    for folder in search_path(labs_dir):
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if child.name in found or not (child / "lab.toml").is_file():
                continue
            try:
                found[child.name] = load_lab(child)
            except ManifestError as exc:
                broken.append(exc)
    return [found[k] for k in sorted(found)], broken


def shadowed_bundled(labs: list[Lab]) -> dict[str, Path]:
    """The bundled labs that `labs` (from all_labs) hide: a lab from --labs-dir or
    LABRUN_LABS_PATH with a bundled lab's id runs instead of it, check.py included, so
    `labrun list` names it. Maps the id to the hidden bundled lab's folder."""
    bundled = bundled_labs_dir().resolve()
    hidden: dict[str, Path] = {}
    for lab in labs:
        original = bundled / lab.id
        if lab.path.parent != bundled and (original / "lab.toml").is_file():
            hidden[lab.id] = original
    return hidden
