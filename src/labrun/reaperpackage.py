"""What the cloud reaper is made of: its Lambda zip and the IAM policy its sweep needs.

Both are derived from labrun's own sweep code, so a resource type added to the sweep is in
the next deploy's package and policy with no list to keep in step:
- the zip holds the import closure of the handler (every labrun module it imports, at any
  depth, found by reading their `import` statements), and the build refuses any import the
  Lambda Python runtime lacks: only the standard library, boto3 and botocore are there;
- the policy allows, on the services the sweep registers, the API operations the sweep's
  modules name (as method calls or as operation names given to a paginator, waiter or
  `pages`), translated to IAM actions with botocore's own service models.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from labrun.errors import LabrunError

HANDLER_MODULE = "labrun.sweep.lambda_handler"
HANDLER = f"{HANDLER_MODULE}.handler"
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})  # in every Lambda Python runtime
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed: the same code makes the same zip (and CodeSha256)
# IAM's service prefix, where it is not botocore's endpoint prefix.
IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "cloudwatch": "cloudwatch", "ecr": "ecr"}
# S3 operations whose IAM action has another name.
S3_ACTIONS = {
    "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions", "DeleteObjects": "DeleteObject",
    "ListBuckets": "ListAllMyBuckets", "ListMultipartUploads": "ListBucketMultipartUploads",
    "DeleteObjectVersion": "DeleteObjectVersion", "HeadObject": "GetObject",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
}  # fmt: skip
# Request parameters (keywords or keys) that need a permission of their own.
PARAMETER_ACTIONS = {
    "BypassGovernanceRetention": "s3:BypassGovernanceRetention",
    "VersionId": "s3:DeleteObjectVersion",
}


def closure(root: str = HANDLER_MODULE) -> dict[str, Path]:
    """Every labrun module `root` imports, at any depth (package __init__ files included),
    by name. Raises when one imports what the Lambda runtime does not have."""
    found: dict[str, Path] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _module_file(name)
        found[name] = path
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)
        for imported in _imports(name, path):
            top = imported.split(".")[0]
            if top == "labrun":
                todo.append(imported)
            elif top not in sys.stdlib_module_names and top not in RUNTIME_PROVIDED:
                raise LabrunError(
                    f"{path.name} imports {imported}, which the Lambda Python runtime does not "
                    "have: the cloud reaper's sweep may use only the standard library and boto3"
                )
    return dict(sorted(found.items()))


def build(dest: Path) -> Path:
    """Write the reaper's zip to `dest` (the same bytes for the same code)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = dest.with_suffix(".tmp")
    with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, path in closure().items():
            tail = "/__init__.py" if path.stem == "__init__" else ".py"
            arcname = name.replace(".", "/") + tail
            info = zipfile.ZipInfo(arcname, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, path.read_bytes())
    scratch.replace(dest)
    return dest


def write_for_terraform(folder: Path) -> dict[str, str]:
    """The zip and the sweep's policy statement as files, for terraform/cloud-reaper."""
    package = build(folder / "labrun-reaper.zip")
    policy = folder / "sweep-policy.json"
    policy.write_text(json.dumps(sweep_policy(), indent=1) + "\n", encoding="utf-8")
    return {"package": str(package), "policy": str(policy), "handler": HANDLER}


def sweep_policy() -> dict[str, Any]:
    """The IAM statement of what the sweep may call: list, describe, tag-read and delete."""
    return {
        "Sid": "LabrunSweep",
        "Effect": "Allow",
        "Action": sweep_actions(),
        "Resource": "*",
    }


def sweep_actions() -> list[str]:
    """The IAM actions of every AWS operation the sweep's modules name."""
    from labrun.sweep.aws import TAGGING
    from labrun.sweep.aws_types import REGISTRY

    names, parameters = _named_in_sweep()
    services = {TAGGING} | {rtype.service for rtype in REGISTRY.values()}
    actions = {PARAMETER_ACTIONS[p] for p in names | parameters if p in PARAMETER_ACTIONS}
    for service in sorted(services):
        for operation in _operations(service, names):
            actions.add(iam_action(service, operation))
    return sorted(actions)


def iam_action(service: str, operation: str) -> str:
    from botocore.session import get_session

    model = get_session().get_service_model(service)
    prefix = (
        IAM_PREFIX.get(service)
        or model.metadata.get("signingName")
        or model.metadata["endpointPrefix"]
    )
    if service == "s3":
        operation = S3_ACTIONS.get(operation, operation)
    return f"{prefix}:{operation}"


def policy_document(extra: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [sweep_policy(), *extra]}, indent=1)


def _operations(service: str, names: set[str]) -> list[str]:
    """The operations of `service` named (snake_case) in `names`; waiters count as the
    operation they poll."""
    from botocore import xform_name
    from botocore.session import get_session

    session = get_session()
    model = session.get_service_model(service)
    by_method = {xform_name(op): op for op in model.operation_names}
    found = {by_method[n] for n in names if n in by_method}
    try:
        waiters = session.get_waiter_model(service)
    except Exception:  # botocore raises its own "no waiters" error: the service has none
        return sorted(found)
    for waiter in waiters.waiter_names:
        if xform_name(waiter) in names:
            found.add(waiters.get_waiter(waiter).operation)
    return sorted(found)


def _named_in_sweep() -> tuple[set[str], set[str]]:
    """What the sweep's modules name: method names and strings (operation names), and the
    keyword arguments of their calls."""
    names: set[str] = set()
    keywords: set[str] = set()
    for name, path in closure().items():
        if not name.startswith("labrun.sweep"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg:
                keywords.add(node.arg)
    return names, keywords


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise LabrunError(f"the cloud reaper's package needs {name}, which cannot be found")
    return Path(spec.origin)


def _imports(name: str, path: Path) -> list[str]:
    """The modules `path` imports (inside functions too; not under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[str] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append(base)
            # `from labrun.sweep import aws_iam` imports a module, not a name.
            found += [f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")]
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:` (never imported at run time)."""
    nodes: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _is_module(name: str) -> bool:
    if not name.startswith("labrun."):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
