"""The cloud-sdk-basics lab, played like a learner: a real session on the local cloud (moto).

One session serves every scenario: `labrun start` and `labrun stop` run as a learner runs
them (the CLI, --json), the scenarios' checks through the Python API (faster), and the
reference solution's check through the CLI again. Before each scenario, the bucket is put
back as `labrun start` left it: the learner's objects (every version), lifecycle rules and
bucket tags are undone. Versioning cannot be turned off once on (only suspended), so the
scenario that needs it never enabled re-seeds the bucket with the lab's own seed.py when
needed. The stop receipt must say that nothing remains.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from testing.labsession import LabSession, by_id, statuses

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "cloud-sdk-basics"
SEED = LAB_DIR / "terraform" / "seed.py"
SOLVE = LAB_DIR / "solution" / "solve.py"
TASKS = ["upload", "versioning", "tags", "lifecycle", "listing"]
PREFIX = "models/churn-classifier/v3/"
LISTING = "datasets/clickstream/"
TAGS = "model=churn-classifier&stage=candidate"
NONCURRENT_30 = {"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}


class Played(LabSession):
    """The lab's session, and what a learner does in it."""

    @property
    def bucket(self) -> str:
        return str(self.outputs["bucket"])

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    def reset(self, never_versioned: bool = False) -> None:
        """The bucket and the workspace as `labrun start` left them."""
        shutil.rmtree(self.workspace)
        shutil.copytree(LAB_DIR / "files", self.workspace)
        if never_versioned and self.s3.get_bucket_versioning(Bucket=self.bucket).get("Status"):
            self.seed("destroy")
            self.seed("create")
            return
        versions = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket)
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for page in versions
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            if not v["Key"].startswith("datasets/")
        ]
        if doomed:
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": doomed})
        self.s3.delete_bucket_lifecycle(Bucket=self.bucket)
        tag_set = [{"Key": k, "Value": v} for k, v in self.session.tags().items()]
        self.s3.put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": tag_set})

    def seed(self, action: str) -> None:
        env = {
            **self.env,
            "LAB_SESSION": self.session.id,
            "LAB_BUCKET": self.bucket,
            "LAB_LISTING_PREFIX": LISTING,
            "LAB_TAGS": json.dumps(self.session.tags()),
        }
        subprocess.run([sys.executable, str(SEED), action], env=env, check=True, timeout=120)

    # --- the learner's steps, done right unless told otherwise ---

    def upload(self, prefix: str = PREFIX, tags: str | None = TAGS, files: tuple = ()) -> None:
        for name in files or ("model.bin", "metrics.json"):
            extra = {"Tagging": tags} if tags else {}
            path = self.workspace / "churn-classifier" / name
            self.s3.upload_file(str(path), self.bucket, prefix + name, ExtraArgs=extra)

    def versioning(self, status: str = "Enabled") -> None:
        config = {"Status": status}
        self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration=config)

    def lifecycle(self, prefix: str = "models/", status: str = "Enabled", **action: Any) -> None:
        rule = {"ID": "old-models", "Filter": {"Prefix": prefix}, "Status": status}
        rule.update(action or NONCURRENT_30)
        self.s3.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": [rule]}
        )

    def keys(self, prefix: str = LISTING) -> list[str]:
        keys = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def write_listing(self, lines: list[str]) -> None:
        (self.workspace / "clickstream-keys.txt").write_text("".join(f"{k}\n" for k in lines))

    def everything_but(self, skipped: str) -> None:
        if skipped != "versioning":
            self.versioning()
        if skipped != "upload":
            self.upload()
        if skipped != "lifecycle":
            self.lifecycle()
        if skipped != "listing":
            self.write_listing(self.keys())


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    home = tmp_path_factory.mktemp("labrun-home")
    played = Played.start("cloud-sdk-basics", home, owner="test-owner")
    try:
        yield played
    finally:
        code, receipt = played.stop()
        assert code == 0 and receipt["ok"], receipt
        assert receipt["destroyed"] == ["terraform_data.bucket"]
        assert receipt["remaining"] == receipt["swept"] == receipt["unowned"] == []


@pytest.fixture
def learner(played: Played, monkeypatch: pytest.MonkeyPatch) -> Played:
    monkeypatch.setenv("LABRUN_HOME", str(played.home))  # conftest gave this test another one
    played.reset()
    return played


def test_start_makes_a_tagged_bucket_with_more_than_a_page_of_keys(learner: Played) -> None:
    s3 = learner.s3
    assert learner.bucket == f"ml-artifacts-{learner.session.id}"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=learner.bucket)["TagSet"]}
    assert tags["labrun:session"] == learner.session.id
    assert 1000 < len(learner.keys()) < 2000
    assert learner.keys("datasets/clickstream-archive/")  # the trap of a prefix without "/"
    assert "Status" not in s3.get_bucket_versioning(Bucket=learner.bucket)
    assert learner.session.outputs["model_prefix"] == PREFIX
    assert (learner.workspace / "churn-classifier" / "model.bin").is_file()


def test_untouched_work_passes_no_task(learner: Played) -> None:
    code, cli_report = learner.cli_check()
    assert code == 1 and cli_report["score"] == 0
    report = learner.check()
    assert statuses(report) == dict.fromkeys(TASKS, "fail")
    assert report.score == 0 and report.total == 12
    assert all(t.hint for t in report.tasks)
    assert "versioning is not turned on" in by_id(report)["versioning"].message


def test_versioning_forgotten(played: Played, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABRUN_HOME", str(played.home))
    played.reset(never_versioned=True)
    played.everything_but("versioning")
    report = played.check()
    assert statuses(report) == {**dict.fromkeys(TASKS, "pass"), "versioning": "fail"}
    versioning = by_id(report)["versioning"]
    assert "not turned on" in versioning.message
    # The first hint is a nudge; `labrun hint versioning` reveals the call.
    assert "a setting of the whole bucket" in versioning.hint and versioning.more_hints == 1
    revealed = json.loads(played.labrun("hint", "versioning", "--json").stdout)
    assert "put_bucket_versioning" in revealed["hints"][-1] and revealed["more"] == 0


def test_reference_solution_scores_full(learner: Played) -> None:
    solved = subprocess.run(
        [sys.executable, str(SOLVE), learner.bucket], cwd=learner.workspace, env=learner.env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    code, report = learner.cli_check()
    assert code == 0 and report["score"] == report["total"] == 12, report


def test_wrong_key_layout(learner: Played) -> None:
    learner.everything_but("upload")
    learner.upload(prefix="churn-classifier/v3/")  # forgot models/
    report = learner.check()
    tasks = by_id(report)
    assert statuses(report) == {**dict.fromkeys(TASKS, "pass"), "upload": "fail", "tags": "fail"}
    assert "model.bin is at 'churn-classifier/v3/model.bin'" in tasks["upload"].message
    assert f"must be exactly {PREFIX}model.bin" in tasks["upload"].hint
    assert "Upload the files first" in tasks["tags"].hint


def test_one_file_of_two_and_a_wrong_file(learner: Played) -> None:
    learner.upload(files=("model.bin",))
    upload = by_id(learner.check())["upload"]
    assert upload.status == "partial" and upload.earned == 1.5
    metrics = learner.workspace / "churn-classifier" / "metrics.json"
    learner.s3.upload_file(str(metrics), learner.bucket, PREFIX + "model.bin")
    upload = by_id(learner.check())["upload"]
    assert upload.status == "fail" and "not the model.bin of your workspace" in upload.message


def test_versioning_suspended(learner: Played) -> None:
    learner.versioning("Suspended")
    versioning = by_id(learner.check())["versioning"]
    assert versioning.status == "fail" and "Suspended" in versioning.message


def test_tags_on_the_bucket_instead_of_the_objects(learner: Played) -> None:
    learner.everything_but("nothing")
    learner.upload(tags=None)
    tag_set = [
        {"Key": "model", "Value": "churn-classifier"},
        {"Key": "stage", "Value": "candidate"},
    ]
    learner.s3.put_bucket_tagging(Bucket=learner.bucket, Tagging={"TagSet": tag_set})
    tags = by_id(learner.check())["tags"]
    assert tags.status == "fail" and "has no tag model" in tags.message
    assert "You tagged the bucket, not the objects" in tags.hint
    assert "removed labrun's own" in tags.hint


def test_a_wrong_tag_value_earns_part(learner: Played) -> None:
    learner.upload(tags="model=churn-classifier&stage=Candidate")
    tags = by_id(learner.check())["tags"]
    assert tags.status == "partial" and tags.earned == 1.0
    assert "stage=Candidate, not stage=candidate" in tags.message


def test_lifecycle_forgotten(learner: Played) -> None:
    learner.everything_but("lifecycle")
    report = learner.check()
    assert statuses(report) == {**dict.fromkeys(TASKS, "pass"), "lifecycle": "fail"}
    assert by_id(report)["lifecycle"].message == "the bucket has no lifecycle rule"


@pytest.mark.parametrize(
    ("rule", "status", "message"),
    [
        ({"Expiration": {"Days": 30}}, "fail", "expires the CURRENT objects"),
        ({"prefix": "datasets/"}, "fail", "no lifecycle rule applies to models/"),
        ({"status": "Disabled"}, "fail", "is Disabled"),
        ({"NoncurrentVersionExpiration": {"NoncurrentDays": 7}}, "partial", "after 7 days"),
        ({"prefix": ""}, "pass", ""),  # the whole bucket covers models/ too
    ],
    ids=["expires-current", "wrong-prefix", "disabled", "wrong-days", "whole-bucket"],
)
def test_lifecycle_mistakes(learner: Played, rule: dict, status: str, message: str) -> None:
    learner.lifecycle(**rule)
    lifecycle = by_id(learner.check())["lifecycle"]
    assert lifecycle.status == status, lifecycle
    assert message in lifecycle.message


def test_listing_truncated_at_1000(learner: Played) -> None:
    first_page = learner.s3.list_objects_v2(Bucket=learner.bucket, Prefix=LISTING)
    assert first_page["IsTruncated"]
    learner.write_listing([o["Key"] for o in first_page["Contents"]])
    listing = by_id(learner.check())["listing"]
    assert listing.status == "fail"
    assert f"1000 of the {len(learner.keys())} keys" in listing.message
    assert "paginator" in listing.hint


def test_listing_without_the_trailing_slash(learner: Played) -> None:
    learner.write_listing(learner.keys("datasets/clickstream"))
    listing = by_id(learner.check())["listing"]
    assert listing.status == "partial" and listing.earned == 1.5
    assert "from outside it" in listing.message and 'trailing "/"' in listing.hint


def test_listing_in_the_aws_cli_formats(learner: Played) -> None:
    keys = learner.keys()
    learner.write_listing([f"2026-11-27 10:30:53         75 {k}" for k in keys])  # aws s3 ls
    assert by_id(learner.check())["listing"].status == "pass"
    pages = ["\t".join(keys[:1000]), "\t".join(keys[1000:])]  # s3api --output text
    (learner.workspace / "clickstream-keys.txt").write_text("\n".join(pages) + "\n")
    assert by_id(learner.check())["listing"].status == "pass"


def test_destroy_succeeds_when_the_bucket_is_already_gone(learner: Played) -> None:
    env = {**learner.env, "LAB_BUCKET": f"gone-{learner.session.id}"}
    done = subprocess.run([sys.executable, str(SEED), "destroy"], env=env, timeout=60, check=False)
    assert done.returncode == 0
