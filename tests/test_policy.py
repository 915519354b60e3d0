"""The policy gate: each rule names the resource it refuses; the config and lab.toml settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from labrun import config
from labrun.errors import ManifestError
from labrun.manifest import LabPolicy, parse_manifest
from labrun.plan import PlannedResource, read_plan
from labrun.policy import LABRUN_TAGS, Policy, check, instance_types, policy_for, size_rank
from testing.cli import labrun_json

PLANS = Path(__file__).resolve().parent / "fixtures" / "plans"
TAGS = {key: "x" for key in LABRUN_TAGS}
USER_POLICY = """
[policy]
allowed_regions = ["us-east-1"]
allowed_instance_types = ["t3.*", "g4dn", "m5.large"]
"""


def forbidden() -> list[PlannedResource]:
    return read_plan(json.loads((PLANS / "forbidden.json").read_text()), "us-east-1")


def res(rtype: str, region: str = "us-east-1", **values: Any) -> PlannedResource:
    return PlannedResource(f"{rtype}.x", rtype, {"tags_all": TAGS, **values}, {}, region)


def manifest_with(policy_toml: str, tmp_path: Path) -> Any:
    import tomllib

    text = (
        f'id = "lab"\ntitle = "t"\nsummary = "s"\n{policy_toml}\n[[tasks]]\nid = "a"\ntitle = "a"\n'
    )
    return parse_manifest(tomllib.loads(text), tmp_path / "lab" / "lab.toml")


@pytest.fixture
def user_policy(labrun_home: Path) -> config.Config:
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text(USER_POLICY)
    return config.load()


def test_each_violation_names_its_resource_and_rule(user_policy: config.Config) -> None:
    found = {(v.address, v.rule) for v in check(forbidden(), policy_for(user_policy))}
    assert found == {
        ("aws_nat_gateway.egress", "nat-gateway"),
        ("aws_eks_cluster.platform", "eks-cluster"),
        ("aws_instance.gpu", "gpu-instance"),
        ("aws_instance.big", "instance-size"),
        ("aws_instance.compute", "allowed-instance-type"),
        ("aws_s3_bucket.untagged", "labrun-tags"),
        ("aws_sqs_queue.tokyo", "allowed-region"),
    }


def test_the_messages_say_what_is_wrong(user_policy: config.Config) -> None:
    messages = {v.rule: v.message for v in check(forbidden(), policy_for(user_policy))}
    assert "region ap-northeast-1 is not allowed (allowed: us-east-1)" in messages["allowed-region"]
    assert "c5.large is not allowed" in messages["allowed-instance-type"]
    assert "t3.2xlarge is larger than xlarge" in messages["instance-size"]
    assert "labrun:session" in messages["labrun-tags"]


def test_without_a_user_policy_regions_and_types_are_open() -> None:
    rules = {v.rule for v in check(forbidden(), policy_for(config.Config()))}
    assert "allowed-region" not in rules and "allowed-instance-type" not in rules
    assert {"nat-gateway", "eks-cluster", "gpu-instance", "instance-size"} <= rules


def test_a_lab_lifts_refusals_and_adds_regions_and_types(
    user_policy: config.Config, tmp_path: Path
) -> None:
    manifest = manifest_with(
        '[policy]\nallow = ["nat-gateway", "eks-cluster", "gpu-instance", "instance-size"]\n'
        'regions = ["ap-northeast-1"]\ninstance_types = ["c5.large"]\n',
        tmp_path,
    )
    left = check(forbidden(), policy_for(user_policy, manifest))
    assert [(v.address, v.rule) for v in left] == [("aws_s3_bucket.untagged", "labrun-tags")]


def test_tags_all_counts_and_unknown_tags_are_refused() -> None:
    policy = Policy()
    values = {"tags": None, "tags_all": TAGS}
    by_default_tags = PlannedResource("aws_sqs_queue.q", "aws_sqs_queue", values, {}, "us-east-1")
    assert check([by_default_tags], policy) == []
    unknown = PlannedResource("aws_sqs_queue.q", "aws_sqs_queue", {"tags": None},
                              {"tags_all": True}, "us-east-1")  # fmt: skip
    [violation] = check([unknown], policy)
    assert violation.rule == "labrun-tags" and "only known after apply" in violation.message
    untaggable = PlannedResource("aws_iam_role_policy_attachment.a",
                                 "aws_iam_role_policy_attachment", {}, {}, "us-east-1")  # fmt: skip
    assert check([untaggable], policy) == []


@pytest.mark.parametrize(
    ("resource", "rule"),
    [
        (res("aws_sagemaker_notebook_instance", instance_type="ml.g4dn.xlarge"), "gpu-instance"),
        (res("aws_db_instance", instance_class="db.r5.4xlarge"), "instance-size"),
        (res("aws_eks_node_group", instance_types=["t3.medium", "p3.2xlarge"]), "gpu-instance"),
        (res("aws_sagemaker_endpoint_configuration",
             production_variants=[{"instance_type": "ml.inf2.xlarge"}]), "gpu-instance"),
        (res("aws_launch_template", instance_type="m5.metal"), "instance-size"),
    ],
)  # fmt: skip
def test_instance_types_are_found_wherever_a_type_names_them(
    resource: PlannedResource, rule: str
) -> None:
    assert rule in {v.rule for v in check([resource], Policy())}


def test_instance_types_drop_the_service_prefix() -> None:
    assert instance_types(res("aws_db_instance", instance_class="db.t3.micro")) == ["t3.micro"]
    assert instance_types(res("aws_s3_bucket")) == []


def test_sizes_are_ordered() -> None:
    order = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "12xlarge", "metal"]
    assert [size_rank(s) for s in order] == sorted(size_rank(s) for s in order)
    limited = Policy(max_instance_size="2xlarge")
    assert check([res("aws_instance", instance_type="m5.2xlarge")], limited) == []


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[policy]\nallowed_regions = 'us-east-1'\n", "policy.allowed_regions"),
        ("[policy]\nmax_instance_size = 'huge'\n", "policy.max_instance_size"),
        ("[policy]\nregions = ['x']\n", "policy.regions"),
    ],
)
def test_a_bad_user_policy_is_one_line_naming_the_field(
    labrun_home: Path, text: str, field: str
) -> None:
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text(text)
    with pytest.raises(ManifestError, match=field):
        config.load()


@pytest.mark.parametrize(
    ("policy_toml", "problem"),
    [
        ('[policy]\nallow = ["everything"]\n', "policy.allow: 'everything' is not one of"),
        ('[policy]\nregions = "us-east-1"\n', "policy.regions: must be a list of strings"),
        ("[policy]\nbudget = 1\n", "policy.budget: unknown key"),
    ],
)
def test_a_bad_lab_policy_is_one_line_naming_the_field(
    tmp_path: Path, policy_toml: str, problem: str
) -> None:
    with pytest.raises(ManifestError, match=problem):
        manifest_with(policy_toml, tmp_path)


def test_a_lab_policy_is_read(tmp_path: Path) -> None:
    manifest = manifest_with(
        '[policy]\nallow = ["gpu-instance"]\ninstance_types = ["g5"]\n', tmp_path
    )
    assert manifest.policy == LabPolicy(allow=("gpu-instance",), instance_types=("g5",))


def test_plan_from_json_applies_the_user_policy(user_policy: config.Config) -> None:
    result = labrun_json("plan", "--from-json", str(PLANS / "forbidden.json"), expect=1)
    rules = {(v["address"], v["rule"]) for v in result["violations"]}
    assert ("aws_sqs_queue.tokyo", "allowed-region") in rules
    assert ("aws_instance.compute", "allowed-instance-type") in rules
