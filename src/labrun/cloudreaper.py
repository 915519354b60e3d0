"""The cloud reaper: labrun's sweep as a Lambda function in the user's AWS account.

So that a `--target aws` session past its hard expiry is torn down with the laptop closed.
`deploy` puts into the account (through the same allowed-accounts guard as `--target aws`):
- the function `labrun-reaper-OWNER` (or `labrun-reaper-all-owners`), whose zip is built
  by `reaperpackage` from labrun's own sweep and kept under LABRUN_HOME;
- an IAM role with the policy that sweep needs (`reaperpackage.sweep_actions`);
- an EventBridge rule that invokes it every `--every`;
- its log groups: the function's own, and `/labrun/reaper/NAME` for one receipt per run;
- optionally, a monthly AWS budget on the owner's tag (a backstop: cost data lags by hours).
All of it carries the mark `labrun:reaper=NAME` and never `labrun:session` or `labrun:owner`,
so no sweep (the reaper's own, `labrun reap`) ever takes it for a session's resource.
Deploying again updates everything in place; `undeploy` removes it all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from labrun import reaperpackage
from labrun.errors import BadInput, LabrunError
from labrun.sweep.aws import client
from labrun.sweep.aws_types import error_code

PREFIX = "labrun-reaper"
ALL_OWNERS = "all-owners"
REAPER_TAG = "labrun:reaper"  # the reaper's own mark: never a session's
RUNTIME = "python3.12"
TIMEOUT = 900  # seconds: Lambda's longest; a sweep waits for slow deletes
RETENTION_DAYS = 30
PROPAGATION = 90.0  # seconds: a new IAM role may take this long to be assumable by Lambda
EXISTS = frozenset(
    {"EntityAlreadyExists", "ResourceAlreadyExistsException", "DuplicateRecordException"}
)
GONE = frozenset(
    {"NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "ResourceNotFound"}
)
R = TypeVar("R")


@dataclass(frozen=True)
class Deployment:
    """A deployed cloud reaper: the `labrun reaper deploy --json` document."""

    function_name: str
    handler: str
    package: str
    schedule: str  # the EventBridge rule's ARN
    role: str  # the IAM role's ARN
    region: str
    account_id: str

    def to_json(self) -> dict[str, str]:
        return {
            "function_name": self.function_name, "handler": self.handler,
            "package": self.package, "schedule": self.schedule, "role": self.role,
            "region": self.region, "account_id": self.account_id,
        }  # fmt: skip


@dataclass(frozen=True)
class CloudStatus:
    """One cloud reaper as found in the account, with its last run's receipt (if any)."""

    function_name: str
    deployed: bool
    schedule: str | None = None  # "rate(15 minutes)"
    enabled: bool = False
    last_run: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "function_name": self.function_name, "deployed": self.deployed,
            "schedule": self.schedule, "enabled": self.enabled, "last_run": self.last_run,
        }  # fmt: skip


def current_env() -> dict[str, str]:
    """The AWS settings of this shell (credentials, profile, region, endpoint)."""
    from labrun.awsenv import passthrough

    return passthrough()


def function_name(owner: str | None) -> str:
    """`labrun-reaper-OWNER`, or `labrun-reaper-all-owners`; within Lambda's and IAM's 64."""
    name = f"{PREFIX}-{owner or ALL_OWNERS}"
    if len(name) <= 64:
        return name
    return f"{name[:55]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def region_of(env: Mapping[str, str]) -> str:
    from labrun.awsenv import resolve_region

    region = resolve_region(env)
    if not region:
        raise BadInput("no AWS region: set AWS_REGION (or a region in your AWS profile)")
    return str(region)


def package_path(account: str, region: str, name: str) -> Path:
    from labrun.home import labrun_home

    return labrun_home() / "cloud-reaper" / f"{account}-{region}" / f"{name}.zip"


def deploy(
    env: Mapping[str, str],
    owner: str | None,
    every: timedelta,
    budget: tuple[float, str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Deployment:
    """Deploy (or update in place) the reaper serving `owner` (None: every owner)."""
    from labrun import config

    minutes = max(1, round(every.total_seconds() / 60))
    if every.total_seconds() < 60:
        raise BadInput("--every: the cloud reaper runs at most once a minute (1m or more)")
    account = config.require_allowed_account(dict(env))
    region = region_of(env)
    name = function_name(owner)
    tags = {REAPER_TAG: name}
    progress(f"building the package from labrun's sweep ({account}, {region})")
    package = reaperpackage.build(package_path(account, region, name))
    progress("IAM role and its policy")
    role = _ensure_role(env, name, account, region, tags)
    progress("log groups")
    for group in log_groups(name):
        _ensure_log_group(env, group, tags)
    progress("Lambda function")
    arn = _ensure_function(env, name, role, package, owner, tags)
    progress(f"EventBridge rule: every {minutes} minutes")
    rule = _ensure_rule(env, name, arn, minutes, tags)
    if budget is not None:
        progress("AWS budget")
        _ensure_budget(env, account, name, owner, *budget)
    return Deployment(name, reaperpackage.HANDLER, str(package), rule, role, region, account)


def undeploy(env: Mapping[str, str], owner: str | None) -> list[str]:
    """Remove the reaper serving `owner` and everything deploy made; what was removed."""
    from labrun import config

    account = config.require_allowed_account(dict(env))
    region = region_of(env)
    name = function_name(owner)
    events, lam, iam, logs = (client(env, s) for s in ("events", "lambda", "iam", "logs"))
    removed: list[str] = []

    def gone(what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as exc:
            if error_code(exc) not in GONE:
                raise
        else:
            removed.append(what)

    gone(f"targets of rule {name}", lambda: events.remove_targets(Rule=name, Ids=[name]))
    # DeleteRule succeeds for a rule that is not there: ask first, to report only what was.
    gone(f"rule {name}", lambda: (events.describe_rule(Name=name), events.delete_rule(Name=name)))
    gone(f"function {name}", lambda: lam.delete_function(FunctionName=name))
    gone(f"policy of role {name}", lambda: iam.delete_role_policy(RoleName=name, PolicyName=name))
    gone(f"role {name}", lambda: iam.delete_role(RoleName=name))
    for group in log_groups(name):
        gone(f"log group {group}", lambda g=group: logs.delete_log_group(logGroupName=g))  # type: ignore[misc]
    budgets = client(env, "budgets")
    gone(f"budget {name}", lambda: budgets.delete_budget(AccountId=account, BudgetName=name))
    package = package_path(account, region, name)
    if package.exists():
        package.unlink()
        removed.append(f"package {package}")
    return removed


def status(env: Mapping[str, str], owner: str | None) -> list[CloudStatus]:
    """This owner's reaper and the all-owners one, in the account and region of `env`."""
    return [_status_of(env, name) for name in _serving(owner)]


def deployed(env: Mapping[str, str], owner: str) -> bool:
    """Whether a cloud reaper serves `owner` (its own or an all-owners one) where `env` points."""
    return any(_status_of(env, n, with_last_run=False).enabled for n in _serving(owner))


def _serving(owner: str | None) -> list[str]:
    return [function_name(owner)] + ([function_name(None)] if owner else [])


def log_groups(name: str) -> tuple[str, str]:
    """The function's own log group, and the one its receipts go to."""
    return f"/aws/lambda/{name}", f"/labrun/reaper/{name}"


def role_policy(name: str, account: str, region: str) -> str:
    receipts = f"arn:aws:logs:{region}:{account}:log-group:/labrun/reaper/{name}:*"
    own = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{name}:*"
    return reaperpackage.policy_document(
        [
            {
                "Sid": "LabrunReaperLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [receipts, own],
            }
        ]
    )


def _status_of(env: Mapping[str, str], name: str, with_last_run: bool = True) -> CloudStatus:
    try:
        client(env, "lambda").get_function_configuration(FunctionName=name)
    except Exception as exc:
        if error_code(exc) in GONE:
            return CloudStatus(name, deployed=False)
        raise
    schedule, enabled = None, False
    try:
        rule = client(env, "events").describe_rule(Name=name)
        schedule, enabled = rule.get("ScheduleExpression"), rule.get("State") == "ENABLED"
    except Exception as exc:
        if error_code(exc) not in GONE:
            raise
    run = last_run(env, name) if with_last_run else None
    return CloudStatus(name, True, schedule, enabled, run)


def last_run(env: Mapping[str, str], name: str) -> dict[str, Any] | None:
    """The receipt of the reaper's latest run (streams are named by their run's start)."""
    logs = client(env, "logs")
    group = log_groups(name)[1]
    try:
        streams = logs.describe_log_streams(
            logGroupName=group, orderBy="LogStreamName", descending=True, limit=1
        )["logStreams"]
    except Exception as exc:
        if error_code(exc) in GONE:
            return None
        raise
    if not streams:
        return None
    events = logs.get_log_events(
        logGroupName=group, logStreamName=streams[0]["logStreamName"], startFromHead=True
    )["events"]
    try:
        receipt: dict[str, Any] = json.loads(events[-1]["message"])
    except (IndexError, ValueError):
        return None
    return receipt


def _ensure_role(
    env: Mapping[str, str], name: str, account: str, region: str, tags: dict[str, str]
) -> str:
    iam = client(env, "iam")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    try:
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust, Tags=_tag_list(tags),
            Description="labrun cloud reaper: sweeps expired labrun sessions",
        )["Role"]["Arn"]  # fmt: skip
    except Exception as exc:
        if error_code(exc) not in EXISTS:
            raise
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        iam.tag_role(RoleName=name, Tags=_tag_list(tags))
    policy = role_policy(name, account, region)
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy)
    return str(arn)


def _ensure_log_group(env: Mapping[str, str], group: str, tags: dict[str, str]) -> None:
    logs = client(env, "logs")
    try:
        logs.create_log_group(logGroupName=group, tags=tags)
    except Exception as exc:
        if error_code(exc) not in EXISTS:
            raise
    logs.put_retention_policy(logGroupName=group, retentionInDays=RETENTION_DAYS)


def _ensure_function(
    env: Mapping[str, str], name: str, role: str, package: Path, owner: str | None,
    tags: dict[str, str],
) -> str:  # fmt: skip
    lam = client(env, "lambda")
    settings: dict[str, Any] = {
        "Role": role,
        "Handler": reaperpackage.HANDLER,
        "Runtime": RUNTIME,
        "Timeout": TIMEOUT,
        "MemorySize": 256,
        "Description": "labrun cloud reaper: sweeps expired labrun sessions",
        "Environment": {
            "Variables": {
                "LABRUN_REAPER_OWNERS": owner or "*",
                "LABRUN_REAPER_LOG_GROUP": log_groups(name)[1],
            }
        },
    }
    code = package.read_bytes()
    try:
        arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    except Exception as exc:
        if error_code(exc) not in GONE:
            raise
        created = _while_role_propagates(
            lambda: lam.create_function(
                FunctionName=name, Code={"ZipFile": code}, Tags=tags, **settings
            )
        )
        return str(created["FunctionArn"])
    lam.update_function_code(FunctionName=name, ZipFile=code)
    _until_updated(lam, name)
    _while_role_propagates(lambda: lam.update_function_configuration(FunctionName=name, **settings))
    _until_updated(lam, name)
    lam.tag_resource(Resource=arn, Tags=tags)
    return str(arn)


def _ensure_rule(
    env: Mapping[str, str], name: str, function_arn: str, minutes: int, tags: dict[str, str]
) -> str:
    events, lam = client(env, "events"), client(env, "lambda")
    rule = events.put_rule(
        Name=name, ScheduleExpression=f"rate({minutes} minute{'s' if minutes > 1 else ''})",
        State="ENABLED", Description="labrun cloud reaper's schedule", Tags=_tag_list(tags),
    )["RuleArn"]  # fmt: skip
    events.tag_resource(ResourceARN=rule, Tags=_tag_list(tags))
    events.put_targets(Rule=name, Targets=[{"Id": name, "Arn": function_arn}])
    try:
        lam.add_permission(
            FunctionName=name, StatementId=f"{name}-schedule", Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com", SourceArn=rule,
        )  # fmt: skip
    except Exception as exc:
        if error_code(exc) not in {"ResourceConflictException", *EXISTS}:
            raise
    return str(rule)


def _ensure_budget(
    env: Mapping[str, str], account: str, name: str, owner: str | None, usd: float, alert: str
) -> None:
    """A monthly cost budget on the owner's tag, alerting at 80% and 100% of `usd`."""
    if owner is None:
        raise BadInput("--budget follows one owner's tag: deploy it without --all-owners")
    kind = "SNS" if alert.startswith("arn:") else "EMAIL"
    if kind == "EMAIL" and "@" not in alert:
        raise BadInput(f"--alert {alert!r}: give an e-mail address or an SNS topic ARN")
    budgets = client(env, "budgets")
    try:
        budgets.delete_budget(AccountId=account, BudgetName=name)  # deploying again replaces it
    except Exception as exc:
        if error_code(exc) not in GONE:
            raise
    notifications = [
        {
            "Notification": {
                "NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                "Threshold": threshold, "ThresholdType": "PERCENTAGE",
            },
            "Subscribers": [{"SubscriptionType": kind, "Address": alert}],
        }
        for threshold in (80.0, 100.0)
    ]  # fmt: skip
    budgets.create_budget(
        AccountId=account,
        Budget={
            "BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": f"{usd:.2f}", "Unit": "USD"},
            "CostFilters": {"TagKeyValue": [f"user:labrun:owner${owner}"]},
        },
        NotificationsWithSubscribers=notifications,
    )  # fmt: skip


def _while_role_propagates(call: Callable[[], R]) -> R:
    """AWS refuses a role for a few seconds after its creation: retry until PROPAGATION."""
    deadline = time.monotonic() + PROPAGATION
    while True:
        try:
            return call()
        except Exception as exc:
            assumable = "cannot be assumed" not in str(exc)
            if error_code(exc) != "InvalidParameterValueException" or assumable:
                raise
            if time.monotonic() > deadline:
                raise LabrunError(f"Lambda still refuses the new role: {exc}") from None
            time.sleep(3)


def _until_updated(lam: Any, name: str) -> None:
    """An update is refused while the last one is in progress (ResourceConflictException)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = lam.get_function_configuration(FunctionName=name).get("LastUpdateStatus")
        if state != "InProgress":
            return
        time.sleep(1)


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def missing_warning(owner: str) -> str | None:
    """For `start --target aws`: one line when no cloud reaper serves `owner` where this
    shell's AWS settings point (nothing when that cannot be told: the start goes on)."""
    env = current_env()
    try:
        if deployed(env, owner):
            return None
        region = region_of(env)
    except Exception:  # no permission to look, no network: no claim either way
        return None
    return (
        f"warning: no cloud reaper in {region}: with this machine off, nothing tears this "
        "session down at expiry (`labrun reaper deploy` puts one in your account)"
    )
