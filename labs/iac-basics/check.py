"""Checks of the iac-basics lab: the learner's own Terraform, applied and then destroyed.

What is graded, and from where:

- ``config`` reads the learner's ``*.tf`` and ``*.tfvars`` files (comments ignored): one
  variable, ``name_prefix``, set in terraform.tfvars and used; a bucket and a queue;
- ``apply`` and ``tags`` read Terraform's state in the workspace and the lab's cloud. While
  the configuration is applied, ``terraform.tfstate`` lists the bucket and the queue and
  both must exist in the cloud, with their tags. After ``terraform destroy`` that state is
  empty, and Terraform keeps the state from before the destroy in
  ``terraform.tfstate.backup``: the apply is graded from there (same lineage), so the lab
  can be finished in the natural order, apply then destroy;
- ``destroy``: the state lists neither any more, and the cloud has neither.

Grading never changes anything, in the workspace or in the cloud.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from labrun.checks import CheckFailed, task

STATE = "terraform.tfstate"
BACKUP = "terraform.tfstate.backup"
VARIABLE = "name_prefix"
REQUIRED_TAGS = {"Project": "iac-basics", "ManagedBy": "terraform"}
TAGS_HCL = "{ " + ", ".join(f'{k} = "{v}"' for k, v in REQUIRED_TAGS.items()) + " }"
BUCKET, QUEUE = "aws_s3_bucket", "aws_sqs_queue"
KINDS = {BUCKET: "bucket", QUEUE: "queue"}
LAB_FILES = {"provider.tf"}  # written by the lab, not the learner's
_COMMENTS = re.compile(r"/\*.*?\*/|(?:#|//)[^\n]*", re.DOTALL)
INIT_APPLY = "In the workspace: `labrun terraform init`, then `labrun terraform apply`."


# --- names, files and state -----------------------------------------------------------------


def names(ctx) -> dict[str, str]:
    """The prefix, bucket and queue of this session (the outputs, else the lab's rule)."""
    prefix = str(ctx.outputs.get("name_prefix") or f"iac-{ctx.session}")
    return {
        "prefix": prefix,
        BUCKET: str(ctx.outputs.get("bucket") or f"{prefix}-models"),
        QUEUE: str(ctx.outputs.get("queue") or f"{prefix}-jobs"),
    }


def learner_code(workspace: Path, pattern: str) -> dict[str, str]:
    """The learner's files matching ``pattern``, name -> text without comments."""
    return {
        path.name: _COMMENTS.sub("", path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(workspace.glob(pattern))
        if path.name not in LAB_FILES
    }


def read_state(path: Path) -> dict | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise CheckFailed(
            f"{path.name} is not valid JSON: was it edited by hand?",
            hint="Never edit Terraform's state. Start over: `labrun stop`, then `labrun start`.",
        ) from None
    return state if isinstance(state, dict) else None


def instances(state: dict | None, resource_type: str) -> list[dict]:
    """The attributes of every instance of ``resource_type`` managed in ``state``."""
    found = []
    for resource in (state or {}).get("resources") or []:
        if resource.get("mode") == "managed" and resource.get("type") == resource_type:
            found += [i.get("attributes") or {} for i in resource.get("instances") or []]
    return found


def state_name(attributes: dict, resource_type: str) -> str:
    return str(attributes.get("bucket" if resource_type == BUCKET else "name") or "")


def applies(state: dict | None) -> bool:
    return any(instances(state, t) for t in KINDS)


class Applied:
    """The state that shows the apply: terraform.tfstate while applied, else its backup."""

    def __init__(self, ctx) -> None:
        workspace = Path(ctx.workspace)
        current = read_state(workspace / STATE)
        backup = read_state(workspace / BACKUP)
        if applies(current):
            self.state, self.source, self.live = current, STATE, True
        elif applies(backup) and (current is None or _same_lineage(current, backup)):
            self.state, self.source, self.live = backup, BACKUP, False
        else:
            problem, hint = _nothing_applied(workspace, current)
            raise CheckFailed(problem, hint=hint)

    def resource(self, resource_type: str) -> list[dict]:
        return instances(self.state, resource_type)


def _same_lineage(a: dict, b: dict) -> bool:
    return a.get("lineage") == b.get("lineage")


def _nothing_applied(workspace: Path, current: dict | None) -> tuple[str, str]:
    """Why no state shows an apply, and the hint."""
    if current is None:
        elsewhere = [p for p in workspace.rglob(STATE) if p.parent != workspace]
        if elsewhere:
            folder = elsewhere[0].parent.relative_to(workspace)
            return (
                f"your state is in {folder}/, not in the workspace itself",
                "Run terraform in the workspace folder (where provider.tf is).",
            )
        return f"there is no {STATE} in your workspace yet: nothing was applied", INIT_APPLY
    return (
        f"{STATE} records no bucket and no queue, and no earlier state of it did",
        "Apply your configuration (`labrun terraform apply`), check, then destroy it.",
    )


# --- the cloud ------------------------------------------------------------------------------


def bucket_exists(ctx, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        ctx.aws.client("s3").head_bucket(Bucket=name)
        return True
    except ClientError:
        return False


def queue_url(ctx, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(ctx.aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError:
        return None


def exists(ctx, resource_type: str, name: str) -> bool:
    return bucket_exists(ctx, name) if resource_type == BUCKET else queue_url(ctx, name) is not None


def cloud_tags(ctx, resource_type: str, name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    if resource_type == QUEUE:
        url = queue_url(ctx, name)
        return dict(ctx.aws.client("sqs").list_queue_tags(QueueUrl=url).get("Tags") or {})
    try:
        tag_set = ctx.aws.client("s3").get_bucket_tagging(Bucket=name)["TagSet"]
    except ClientError:  # NoSuchTagSet: a bucket without tags
        return {}
    return {tag["Key"]: tag["Value"] for tag in tag_set}


# --- the tasks ------------------------------------------------------------------------------


@task("config")
def config(ctx):
    """One variable set in terraform.tfvars and used; a bucket and a queue."""
    workspace = Path(ctx.workspace)
    code = learner_code(workspace, "*.tf")
    joined = "\n".join(code.values())
    prefix = names(ctx)["prefix"]
    tfvars_hint = f'Create terraform.tfvars with the line: {VARIABLE} = "{prefix}"'
    checks = [
        (
            re.search(rf'^\s*variable\s+"{VARIABLE}"\s*\{{', joined, re.MULTILINE),
            f'no `variable "{VARIABLE}"` block in your .tf files',
            f'In variables.tf: variable "{VARIABLE}" {{ type = string }}',
        ),
        (
            re.search(rf'^\s*resource\s+"{BUCKET}"\s+"', joined, re.MULTILINE),
            f"no {BUCKET} resource in your .tf files",
            'In main.tf: resource "aws_s3_bucket" "models" { bucket = "${var.name_prefix}-models"'
            " }",
        ),
        (
            re.search(rf'^\s*resource\s+"{QUEUE}"\s+"', joined, re.MULTILINE),
            f"no {QUEUE} resource in your .tf files",
            'In main.tf: resource "aws_sqs_queue" "jobs" { name = "${var.name_prefix}-jobs" }',
        ),
        (
            re.search(rf"\bvar\.{VARIABLE}\b", joined),
            f"var.{VARIABLE} is used nowhere: the names are typed out instead",
            'Name both resources from the variable: "${var.name_prefix}-models", '
            '"${var.name_prefix}-jobs".',
        ),
        (*_tfvars_problem(workspace, prefix), tfvars_hint),
    ]
    problems = [(problem, hint) for ok, problem, hint in checks if not ok]
    if not code:
        raise CheckFailed(
            "there is no Terraform of yours in the workspace yet (only provider.tf, the lab's)",
            hint="Write main.tf and variables.tf in the workspace (step 2 of the README).",
        )
    if problems:
        raise CheckFailed(
            "; ".join(p for p, _ in problems),
            hint=problems[0][1],
            score=(len(checks) - len(problems)) / len(checks),
        )


def _tfvars_problem(workspace: Path, prefix: str) -> tuple[bool, str]:
    """(ok, problem): terraform.tfvars (or a *.auto.tfvars) sets name_prefix to prefix."""
    files = {
        **learner_code(workspace, "terraform.tfvars"),
        **learner_code(workspace, "*.auto.tfvars"),
    }
    setting = re.compile(rf'^\s*{VARIABLE}\s*=\s*"([^"]*)"', re.MULTILINE)
    values = [m[1] for text in files.values() for m in setting.finditer(text)]
    if not values:
        where = "terraform.tfvars does not set" if files else "there is no terraform.tfvars to set"
        return False, f"{where} {VARIABLE}"
    if values[-1] != prefix:
        return False, f'terraform.tfvars sets {VARIABLE} = "{values[-1]}", not "{prefix}"'
    return True, ""


@task("apply")
def apply(ctx):
    """The state records the bucket and the queue with the right names (and, while applied,
    both exist in the cloud)."""
    applied = Applied(ctx)
    wanted = names(ctx)
    problems, hint = [], ""
    for resource_type, kind in KINDS.items():
        recorded = [state_name(a, resource_type) for a in applied.resource(resource_type)]
        if wanted[resource_type] not in recorded:
            problems.append(_not_recorded(ctx, applied, resource_type, recorded))
            suffix = wanted[resource_type].removeprefix(wanted["prefix"])
            hint = hint or (
                f'Name the {kind} "${{var.{VARIABLE}}}{suffix}", with {VARIABLE} = '
                f'"{wanted["prefix"]}" in terraform.tfvars, then `labrun terraform apply`.'
            )
        elif applied.live and not exists(ctx, resource_type, wanted[resource_type]):
            problems.append(
                f"your state records the {kind} {wanted[resource_type]}, but the cloud has no "
                "such thing (deleted outside Terraform?)"
            )
            hint = hint or (
                "`labrun terraform apply` creates it again (it compares the state with the cloud)."
            )
    if problems:
        raise CheckFailed("; ".join(problems), hint=hint, score=(2 - len(problems)) / 2)


def _not_recorded(ctx, applied: Applied, resource_type: str, recorded: list[str]) -> str:
    kind, name = KINDS[resource_type], names(ctx)[resource_type]
    if recorded:
        return f"your {kind} is named {recorded[0]}, not {name}"
    if exists(ctx, resource_type, name):
        return f"the {kind} {name} exists, but no Terraform state records it (made by hand?)"
    return f"{applied.source} records no {resource_type}"


@task("tags", needs=["apply"])
def tags(ctx):
    """Both resources carry the required tags and labrun's (provider.tf's default_tags)."""
    applied = Applied(ctx)
    wanted = names(ctx)
    problems, hints = [], []
    for resource_type, kind in KINDS.items():
        name = wanted[resource_type]
        if applied.live:
            found = cloud_tags(ctx, resource_type, name)
        else:  # destroyed: the tags Terraform recorded (tags_all includes default_tags)
            found = recorded_tags(applied, resource_type, name)
        missing = {k: v for k, v in REQUIRED_TAGS.items() if found.get(k) != v}
        if missing:
            shown = ", ".join(f"{k} = {v!r}" for k, v in missing.items())
            problems.append(f"the {kind} {name} lacks {shown}")
            hints.append(
                f"Add `tags = {TAGS_HCL}` to both resources, then `labrun terraform apply`."
            )
        elif found.get("labrun:session") != ctx.session:
            problems.append(f"the {kind} {name} lacks labrun's tags (labrun:session)")
            hints.append(
                "Keep provider.tf as the lab wrote it: its default_tags mark your resources "
                "so that `labrun stop` can clean up. Restore it (`labrun stop`, `labrun "
                "start` writes a new one), then `labrun terraform apply`."
            )
    if problems:
        raise CheckFailed("; ".join(problems), hint=hints[0], score=(2 - len(problems)) / 2)


def recorded_tags(applied: Applied, resource_type: str, name: str) -> dict[str, str]:
    """The tags the state recorded for ``name``: tags_all includes provider default_tags."""
    for attributes in applied.resource(resource_type):
        if state_name(attributes, resource_type) == name:
            return dict(attributes.get("tags_all") or attributes.get("tags") or {})
    return {}


@task("destroy", needs=["apply"])
def destroy(ctx):
    """The state records neither resource any more, and the cloud has neither."""
    wanted = names(ctx)
    current = read_state(Path(ctx.workspace) / STATE)
    if applies(current):
        recorded = [f"{KINDS[t]} {state_name(a, t)}" for t in KINDS for a in instances(current, t)]
        raise CheckFailed(
            f"still applied: your state records the {' and the '.join(recorded)}",
            hint="When you are done (after `labrun check` shows the other tasks passed), "
            "run `labrun terraform destroy`.",
        )
    left = [f"{KINDS[t]} {wanted[t]}" for t in KINDS if exists(ctx, t, wanted[t])]
    if left:
        raise CheckFailed(
            f"Terraform no longer tracks the {' and the '.join(left)}, but they still exist in "
            "the cloud (was terraform.tfstate deleted, or `terraform state rm` run?)",
            hint="Put them back under Terraform and destroy them: `labrun terraform import "
            f"aws_s3_bucket.models {wanted[BUCKET]}` (and the queue by its URL), then "
            "`labrun terraform destroy`. Or delete them with the AWS CLI.",
        )
