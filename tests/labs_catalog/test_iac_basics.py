"""The iac-basics lab, played like a learner: real sessions on the local cloud, real checks.

The lab's own module is Terraform's builtin terraform_data only, so every test starts a real
session (`provision.start`): its apply writes provider.tf into the workspace. The learner's
own Terraform needs the hashicorp/aws provider, which cannot be installed without the
provider registry, so its apply and destroy are played the way the provider does them:
boto3 makes (or deletes) the bucket and the queue in the session's local cloud (moto), with
the tags provider.tf's default_tags add, and the test writes terraform.tfstate (and, on
destroy, terraform.tfstate.backup) in the shape Terraform and the aws provider v5 give them.
`test_lab_test_or_why_not` runs `labrun lab test iac-basics` itself wherever the provider can
be installed, and is skipped with Terraform's own reason elsewhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labrun import grading, provision, teardown
from labrun.catalog import load_lab
from labrun.checker import TaskResult
from labrun.session import Session
from labrun.store import SessionStore
from labrun.tfengine import Terraform
from testing.cli import labrun
from testing.labsession import aws_client
from testing.terraform import init_or_skip

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "iac-basics"
SOLUTION = LAB_DIR / "solution"
TASKS = ("config", "apply", "tags", "destroy")
REQUIRED_TAGS = {"Project": "iac-basics", "ManagedBy": "terraform"}
AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


class Learner:
    """One session of iac-basics, and the learner's Terraform work, played."""

    def __init__(self, store: SessionStore, session: Session) -> None:
        self.store = store
        self.session = session
        self.workspace = session.workspace
        self.prefix = f"iac-{session.id}"
        self.bucket = f"{self.prefix}-models"
        self.queue = f"{self.prefix}-jobs"
        self.lineage = str(uuid.uuid4())
        self.serial = 0
        self.state: dict[str, Any] | None = None

    def client(self, service: str) -> Any:
        return aws_client(service, self.store.get(self.session.id).env)

    def write_solution(self, tfvars: str | None = None) -> None:
        """Steps 1 and 2: the reference solution's files, and terraform.tfvars."""
        for name in ("main.tf", "variables.tf"):
            shutil.copy(SOLUTION / name, self.workspace / name)
        text = f'name_prefix = "{self.prefix}"\n' if tfvars is None else tfvars
        (self.workspace / "terraform.tfvars").write_text(text)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.workspace / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new))

    # What `terraform apply` and `terraform destroy` do, as the aws provider v5 does them.

    def apply(
        self,
        bucket: str | None = None,
        tags: dict[str, str] | None = None,
        default_tags: bool = True,
        create: bool = True,
    ) -> None:
        bucket = bucket or self.bucket
        own = dict(REQUIRED_TAGS if tags is None else tags)
        every = {**(self.session.tags() if default_tags else {}), **own}
        url = f"http://local/123456789012/{self.queue}"
        if create:
            s3 = self.client("s3")
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_tagging(
                Bucket=bucket,
                Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in every.items()]},
            )
            url = self.client("sqs").create_queue(QueueName=self.queue, tags=every)["QueueUrl"]
        self.write_state(
            [
                _resource("aws_s3_bucket", "models", {
                    "id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                    "force_destroy": True, "tags": own, "tags_all": every,
                }),
                _resource("aws_sqs_queue", "jobs", {
                    "id": url, "name": self.queue, "url": url,
                    "arn": f"arn:aws:sqs:us-east-1:123456789012:{self.queue}",
                    "tags": own, "tags_all": every,
                }),
            ],
            outputs={"bucket": {"value": bucket, "type": "string"}},
        )  # fmt: skip

    def destroy(self, delete: bool = True) -> None:
        if delete:
            s3 = self.client("s3")
            for name in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
                if name.startswith(self.prefix):
                    s3.delete_bucket(Bucket=name)
            sqs = self.client("sqs")
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=self.queue)["QueueUrl"])
        self.write_state([], outputs={})

    def write_state(self, resources: list[dict[str, Any]], outputs: dict[str, Any]) -> None:
        """terraform.tfstate, the previous one kept as terraform.tfstate.backup (once there
        was one), as Terraform's local backend does."""
        if self.state is not None:
            (self.workspace / "terraform.tfstate.backup").write_text(json.dumps(self.state))
        self.serial += 1
        self.state = {
            "version": 4, "terraform_version": "1.9.8", "serial": self.serial,
            "lineage": self.lineage, "outputs": outputs, "resources": resources,
            "check_results": None,
        }  # fmt: skip
        (self.workspace / "terraform.tfstate").write_text(json.dumps(self.state, indent=2))

    def check(self) -> dict[str, TaskResult]:
        report = grading.check(self.store, self.store.get(self.session.id))
        return {t.id: t for t in report.tasks}


def _resource(kind: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    instance = {"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}
    return {
        "mode": "managed", "type": kind, "name": name, "provider": AWS_PROVIDER,
        "instances": [instance],
    }  # fmt: skip


def statuses(results: dict[str, TaskResult]) -> dict[str, str]:
    return {task_id: result.status for task_id, result in results.items()}


def shown(results: dict[str, TaskResult]) -> dict[str, tuple[str, str]]:
    return {task_id: (r.status, r.message) for task_id, r in results.items()}


@pytest.fixture
def learner(labrun_home: Path) -> Iterator[Learner]:
    store = SessionStore.open()
    session = provision.start(store, load_lab(LAB_DIR))
    played = Learner(store, session)
    try:
        yield played
    finally:
        receipt = teardown.stop(store, store.get(session.id))
        assert receipt.ok, receipt.to_json()


# --- what the lab sets up ----------------------------------------------------------------------


def test_start_writes_provider_tf_with_the_session_tags(learner: Learner, tmp_path: Path) -> None:
    outputs = learner.store.get(learner.session.id).outputs
    assert outputs["name_prefix"] == learner.prefix
    assert (outputs["bucket"], outputs["queue"]) == (learner.bucket, learner.queue)
    assert outputs["required_tags"] == REQUIRED_TAGS
    provider_tf = (learner.workspace / "provider.tf").read_text()
    assert f'"labrun:session" = "{learner.session.id}"' in " ".join(provider_tf.split())
    assert "s3_use_path_style = true" in provider_tf
    assert "endpoint" not in provider_tf.split("provider")[1]  # from AWS_ENDPOINT_URL only
    assert {p.name for p in learner.workspace.iterdir()} == {
        "provider.tf", "versions.tf", "main.tf", "variables.tf",
    }  # fmt: skip
    # provider.tf, the solution and the starter files are valid, formatted HCL.
    config = tmp_path / "config"
    config.mkdir()
    for path in [learner.workspace / "provider.tf", *SOLUTION.glob("*.tf")]:
        shutil.copy(path, config / path.name)
    (config / "terraform.tfvars").write_text(f'name_prefix = "{learner.prefix}"\n')
    fmt = subprocess.run(
        [sys.executable, "-m", "labrun.tfworker", "fmt", "-check", "-diff", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_untouched_workspace_earns_nothing(learner: Learner) -> None:
    results = learner.check()
    assert statuses(results) == {
        "config": "fail", "apply": "fail", "tags": "blocked", "destroy": "blocked",
    }  # fmt: skip
    assert results["config"].earned == 0
    assert 'no `variable "name_prefix"` block' in results["config"].message
    assert "no terraform.tfstate in your workspace yet" in results["apply"].message
    assert "terraform init" in results["apply"].hint


# --- the whole lab, in order -------------------------------------------------------------------


def test_apply_then_destroy_scores_everything(learner: Learner) -> None:
    learner.write_solution()
    after_writing = learner.check()
    assert after_writing["config"].status == "pass", shown(after_writing)

    learner.apply()
    applied = learner.check()
    assert statuses(applied) == {
        "config": "pass", "apply": "pass", "tags": "pass", "destroy": "fail",
    }, shown(applied)  # fmt: skip
    assert "still applied" in applied["destroy"].message
    assert "terraform destroy" in applied["destroy"].hint

    learner.destroy()
    done = learner.check()
    assert statuses(done) == dict.fromkeys(TASKS, "pass"), shown(done)
    assert sum(t.earned for t in done.values()) == 10
    # Graded from the backup Terraform keeps: the learner did nothing special.
    assert json.loads((learner.workspace / "terraform.tfstate").read_text())["resources"] == []


def test_terraform_keeps_the_applied_state_in_the_backup(tmp_path: Path) -> None:
    """What grading after a destroy relies on, with the real (embedded) Terraform: a destroy
    leaves an empty state and the applied one in the backup, with one lineage, and a second
    destroy (nothing to do) touches neither."""
    (tmp_path / "main.tf").write_text('resource "terraform_data" "a" {\n  input = "x"\n}\n')
    terraform = Terraform(tmp_path, {}, tmp_path / "terraform.log")
    assert terraform.init().ok and terraform.apply().ok
    assert not (tmp_path / "terraform.tfstate.backup").exists()
    for _ in range(2):
        assert terraform.destroy().ok
        state = json.loads((tmp_path / "terraform.tfstate").read_text())
        backup = json.loads((tmp_path / "terraform.tfstate.backup").read_text())
        assert state["resources"] == [] and len(backup["resources"]) == 1
        assert state["lineage"] == backup["lineage"]


def test_backup_deleted_after_destroy(learner: Learner) -> None:
    learner.write_solution()
    learner.apply()
    learner.destroy()
    (learner.workspace / "terraform.tfstate.backup").unlink()
    apply = learner.check()["apply"]
    assert apply.status == "fail"
    assert "records no bucket and no queue, and no earlier state of it did" in apply.message
    assert "terraform apply" in apply.hint


# --- the usual mistakes ------------------------------------------------------------------------


def test_names_typed_out_instead_of_the_variable(learner: Learner) -> None:
    learner.write_solution()
    learner.edit("main.tf", '"${var.name_prefix}-models"', f'"{learner.bucket}"')
    learner.edit("main.tf", '"${var.name_prefix}-jobs"', f'"{learner.queue}"')
    results = learner.check()
    assert results["config"].status == "partial" and results["config"].earned == pytest.approx(1.6)
    assert "var.name_prefix is used nowhere" in results["config"].message


def test_missing_tfvars(learner: Learner) -> None:
    learner.write_solution(tfvars="")
    (learner.workspace / "terraform.tfvars").unlink()
    config = learner.check()["config"]
    assert config.status == "partial"
    assert "there is no terraform.tfvars to set name_prefix" in config.message
    assert f'name_prefix = "{learner.prefix}"' in config.hint


def test_wrong_prefix_in_tfvars(learner: Learner) -> None:
    learner.write_solution(tfvars='name_prefix = "iac-mine"\n')
    learner.apply(bucket="iac-mine-models")
    results = learner.check()
    assert 'sets name_prefix = "iac-mine", not' in results["config"].message
    assert results["apply"].status == "partial"
    assert f"your bucket is named iac-mine-models, not {learner.bucket}" in results["apply"].message
    assert '"${var.name_prefix}-models"' in results["apply"].hint
    assert results["tags"].status == "blocked"


def test_resources_made_by_hand(learner: Learner) -> None:
    learner.write_solution()
    learner.client("s3").create_bucket(Bucket=learner.bucket)
    results = learner.check()
    assert results["apply"].status == "fail"
    assert "no terraform.tfstate" in results["apply"].message


def test_resources_deleted_outside_terraform(learner: Learner) -> None:
    learner.write_solution()
    learner.apply()
    learner.client("s3").delete_bucket(Bucket=learner.bucket)
    apply = learner.check()["apply"]
    assert apply.status == "partial"
    assert f"records the bucket {learner.bucket}, but the cloud has no such thing" in apply.message
    assert "terraform apply" in apply.hint


def test_required_tags_missing(learner: Learner) -> None:
    learner.write_solution()
    learner.apply(tags={"Project": "iac-basics"})
    tags = learner.check()["tags"]
    assert tags.status == "fail"
    assert f"the bucket {learner.bucket} lacks ManagedBy = 'terraform'" in tags.message
    assert 'tags = { Project = "iac-basics", ManagedBy = "terraform" }' in tags.hint


def test_required_tags_checked_from_the_backup_after_destroy(learner: Learner) -> None:
    learner.write_solution()
    learner.apply(tags={"Project": "iac-basics"})
    learner.destroy()
    results = learner.check()
    assert statuses(results) == {
        "config": "pass", "apply": "pass", "tags": "fail", "destroy": "pass",
    }, shown(results)  # fmt: skip


def test_default_tags_removed_from_provider_tf(learner: Learner) -> None:
    learner.write_solution()
    learner.apply(default_tags=False)
    tags = learner.check()["tags"]
    assert tags.status == "fail"
    assert "lacks labrun's tags (labrun:session)" in tags.message
    assert "provider.tf" in tags.hint


def test_state_removed_but_resources_left_in_the_cloud(learner: Learner) -> None:
    learner.write_solution()
    learner.apply()
    learner.destroy(delete=False)  # `terraform state rm` of both, say
    destroy = learner.check()["destroy"]
    assert destroy.status == "fail"
    assert "Terraform no longer tracks the bucket" in destroy.message
    assert "terraform import" in destroy.hint


def test_state_in_a_subfolder(learner: Learner) -> None:
    learner.write_solution()
    (learner.workspace / "infra").mkdir()
    (learner.workspace / "infra" / "terraform.tfstate").write_text("{}")
    apply = learner.check()["apply"]
    assert apply.status == "fail" and "your state is in infra/" in apply.message


# --- the teardown ------------------------------------------------------------------------------


def test_stop_removes_what_the_learner_forgot_to_destroy(labrun_home: Path) -> None:
    store = SessionStore.open()
    session = provision.start(store, load_lab(LAB_DIR))
    played = Learner(store, session)
    played.write_solution()
    played.apply()
    receipt = teardown.stop(store, store.get(session.id))
    assert receipt.ok, receipt.to_json()
    swept = {item["name"] for item in receipt.swept}
    assert played.bucket in swept and any(played.queue in name for name in swept), swept
    assert receipt.destroyed == ["terraform_data.provider_tf"]


# --- `labrun lab test`, where the aws provider can be installed --------------------------------


def test_lab_test_or_why_not(tmp_path: Path) -> None:
    """The reference solution needs hashicorp/aws: try to install it first."""
    config = tmp_path / "config"
    config.mkdir()
    for path in [*(LAB_DIR / "files").glob("*.tf"), *SOLUTION.glob("*.tf")]:
        shutil.copy(path, config / path.name)
    # The only reason to skip: the learner's Terraform (files/versions.tf) needs hashicorp/aws,
    # which cannot be installed without the registry or a LABRUN_PROVIDER_MIRROR holding it.
    init_or_skip(
        config,
        tmp_path / "terraform.log",
        "the iac-basics solution (the learner's Terraform needs hashicorp/aws)",
    )
    home = {"LABRUN_HOME": str(tmp_path / "home")}
    tested = labrun("lab", "test", "iac-basics", "--json", env=home, timeout=900)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert json.loads(tested.stdout)["ok"]


def test_lab_lint() -> None:
    """The static checks of `labrun lab lint` (where this labrun has them) find nothing."""
    lint = pytest.importorskip("labrun.lint")
    report = lint.lint(LAB_DIR)
    assert report.ok and not report.findings, report.to_json()
