"""`labrun reap` and `labrun reaper install | status | uninstall`."""

from __future__ import annotations

from pathlib import Path

import click

from labrun.commands import json_option
from labrun.output import console, print_json


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be torn down; touch nothing.")
@click.option(
    "--all-owners",
    is_flag=True,
    help="Reap every installation's expired resources (an instructor's account-wide reaper).",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Also delete orphans in the real AWS account (config aws.reap); else they are listed.",
)
@json_option
def reap(dry_run: bool, all_owners: bool, yes: bool, as_json: bool) -> int:
    """Tear down forgotten sessions and orphaned resources.

    \b
    It tears down, with the same pipeline as `labrun stop`:
      - sessions past their expiry (their TTL), even if their terminal is closed;
      - sessions whose provisioning crashed, or whose teardown is unfinished;
      - orphans: resources with this installation's marks whose session is unknown,
        ended, or whose labrun:expires-at has passed.
    Nothing without labrun's marks is ever touched. Each session and each orphan group
    is handled on its own: one failure does not stop the others. Exits 1 when anything
    failed (the list is printed), 3 when a session's AWS account is not the one your
    credentials reach. Schedule it with `labrun reaper install`: it tears each session
    down where that session ran (its recorded account, regions and Docker engine).
    """
    from labrun import reaper
    from labrun.home import owner
    from labrun.store import SessionStore

    report = reaper.reap(SessionStore.open(), None if all_owners else owner(), dry_run, yes)
    if as_json:
        print_json(report.to_json())
    else:
        _render(report)
    return report.exit_code


def _render(report: object) -> None:
    from labrun.reaper import ReapReport

    assert isinstance(report, ReapReport)
    from rich.markup import escape

    out = console()
    verb = "would tear down" if report.dry_run else "tore down"
    if not report.sessions and not report.orphans:
        out.print("Nothing to reap: no expired session, no orphan.")
    for s in report.sessions:
        state = "" if report.dry_run else (" ok" if s.get("ok") else " [red]incomplete[/]")
        out.print(f"{verb} session {s['session']} ({s['lab']}): {escape(s['reason'])}{state}")
    for o in report.orphans:
        done = verb if o["removed"] else "would tear down (confirm with --yes)"
        line = f"{done} orphan {o['kind']} {o['name']} of session {o['session']}: {o['why']}"
        out.print(line, markup=False)
    for warning in report.warnings:
        out.print(f"warning: {warning}", style="yellow", markup=False)
    for failure in report.failures:
        out.print(f"failed: {failure}", style="red", markup=False)


@click.group()
def reaper() -> None:
    """The reapers behind the session watchdog: a local schedule and a cloud one.

    \b
    install / uninstall: schedule `labrun reap` on this machine (a systemd user timer,
      else a crontab line), for orphans and after a reboot;
    deploy / undeploy: the cloud reaper, a Lambda function in your AWS account that tears
      down expired --target aws sessions with your laptop closed;
    status: both, and the session watchdog.
    package: the cloud reaper's zip and IAM policy, for terraform/cloud-reaper.
    """


@reaper.command()
@click.option("--every", default="5m", show_default=True, help="How often to reap (1m or more).")
@json_option
def install(every: str, as_json: bool) -> int:
    """Install (or update) the reaper's schedule."""
    from labrun import schedule
    from labrun.durations import parse_duration
    from labrun.errors import BadInput

    try:
        period = parse_duration(every)
    except ValueError as exc:
        raise BadInput(f"--every: {exc}") from None
    result = schedule.install(period)
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"The reaper runs every {result.every} ({result.method}).")
    return 0


@reaper.command("status")
@json_option
def reaper_status(as_json: bool) -> int:
    """Show both reapers: the local schedule, and the cloud reaper of your AWS account.

    The session watchdog is shown too. The cloud one is looked for in the account and
    region of your AWS settings when config.toml allows an account
    (aws.allowed_account_ids), with its last run's receipt.
    """
    from labrun import schedule, watchdog

    result = schedule.status()
    dog = watchdog.status()
    cloud = _cloud_status()
    if as_json:
        print_json({**result.to_json(), "watchdog": dog.to_json(), "cloud": cloud})
        return 0
    if dog.running and dog.sessions:
        sid, at = dog.sessions[0]
        console().print(f"Watchdog: pid {dog.pid}, next expiry {sid} at {at}.")
    else:
        console().print("Watchdog: not running (`labrun start` arms it for each session).")
    if result.installed:
        console().print(f"Local: the reaper runs every {result.every} ({result.method}).")
    else:
        console().print("Local: not scheduled (`labrun reaper install` schedules it).")
    _render_cloud(cloud)
    return 0


def _cloud_status() -> dict[str, object]:
    """The cloud reapers where this shell's AWS settings point, or why they were not looked at."""
    from labrun import cloudreaper, config
    from labrun.errors import LabrunError
    from labrun.home import owner

    if not config.load().allowed_account_ids:
        return {"checked": False, "why": "no AWS account in config aws.allowed_account_ids"}
    env = cloudreaper.current_env()
    try:
        found = cloudreaper.status(env, owner())
        region = cloudreaper.region_of(env)
    except LabrunError as exc:
        return {"checked": False, "why": str(exc)}
    except Exception as exc:  # no credentials, no network: said, not fatal
        return {"checked": False, "why": f"{type(exc).__name__}: {exc}"}
    return {"checked": True, "region": region, "reapers": [r.to_json() for r in found]}


def _render_cloud(cloud: dict[str, object]) -> None:
    from rich.markup import escape

    out = console()
    if not cloud["checked"]:
        out.print(f"Cloud: not checked: {escape(str(cloud['why']))}.")
        return
    reapers = [r for r in cloud["reapers"] if r["deployed"]]  # type: ignore[attr-defined]
    if not reapers:
        out.print(f"Cloud: no reaper in {cloud['region']} (`labrun reaper deploy` puts one there).")
    for r in reapers:
        state = "enabled" if r["enabled"] else "[yellow]disabled[/]"
        out.print(f"Cloud: {r['function_name']} in {cloud['region']}, {r['schedule']}, {state}.")
        run = r["last_run"]
        if run is None:
            out.print("  It has not run yet.")
        else:
            swept = sum(len(s["removed"]) for s in run["sessions"])
            verdict = "ok" if run["ok"] else "[red]with errors[/]"
            out.print(
                f"  Last run {run['finished_at']}: {len(run['sessions'])} expired sessions, "
                f"{swept} resources deleted, {len(run['kept'])} sessions kept, {verdict}."
            )


@reaper.command()
@click.option("--every", default="15m", show_default=True, help="How often it runs (1m or more).")
@click.option(
    "--all-owners", is_flag=True, help="Serve every owner's sessions (an instructor's account)."
)
@click.option(
    "--budget", metavar="USD", type=click.FloatRange(min=0.01),
    help="Also create a monthly AWS budget on your owner tag (needs --alert).",
)  # fmt: skip
@click.option(
    "--alert", metavar="EMAIL|SNS_ARN", help="Where the budget's alerts go (80% and 100%)."
)
@json_option
def deploy(
    every: str, all_owners: bool, budget: float | None, alert: str | None, as_json: bool
) -> int:
    """Put the cloud reaper into your AWS account, so expiry holds with your laptop closed.

    \b
    It creates, in the account and region of your AWS settings (which config.toml's
    aws.allowed_account_ids must list, as for --target aws):
      - the Lambda function labrun-reaper-OWNER, whose zip is labrun's own sweep
        (kept under LABRUN_HOME; needs nothing but boto3);
      - an IAM role with only the permissions that sweep needs;
      - an EventBridge rule that runs it every --every;
      - log groups; each run writes its receipt to /labrun/reaper/NAME.
    Each run deletes the resources of your sessions whose labrun:hard-expires-at has
    passed. Running deploy again updates it in place; `labrun reaper undeploy` removes it.
    --budget is a backstop, not the guard: AWS's cost data lags by hours.

    \b
    Examples:
      labrun reaper deploy
      labrun reaper deploy --every 5m --budget 20 --alert me@example.com --json
    """
    from labrun import cloudreaper
    from labrun.durations import parse_duration
    from labrun.errors import BadInput
    from labrun.home import owner
    from labrun.output import err_console

    try:
        period = parse_duration(every)
    except ValueError as exc:
        raise BadInput(f"--every: {exc}") from None
    if (budget is None) != (alert is None):
        raise BadInput("--budget and --alert go together: the budget's alerts need an address")
    result = cloudreaper.deploy(
        cloudreaper.current_env(), None if all_owners else owner(), period,
        None if budget is None or alert is None else (budget, alert),
        progress=lambda step: err_console().print(f"  {step}"),
    )  # fmt: skip
    if as_json:
        print_json(result.to_json())
    else:
        console().print(
            f"The cloud reaper {result.function_name} runs every {every} in account "
            f"{result.account_id}, {result.region}. `labrun reaper status` shows its last run."
        )
    return 0


@reaper.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@json_option
def package(folder: Path, as_json: bool) -> int:
    """Write the cloud reaper's zip and its IAM policy into FOLDER (for Terraform).

    \b
    The same zip and policy `labrun reaper deploy` uses, for the module in
    terraform/cloud-reaper (its variable package_dir is FOLDER):
      labrun reaper package build/reaper
      terraform apply -var package_dir=build/reaper -var owner=$LABRUN_OWNER
    """
    from labrun import reaperpackage

    written = reaperpackage.write_for_terraform(folder)
    if as_json:
        print_json(written)
    else:
        console().print(f"Wrote {written['package']} and {written['policy']}.")
    return 0


@reaper.command()
@click.option("--all-owners", is_flag=True, help="Remove the all-owners reaper instead.")
@json_option
def undeploy(all_owners: bool, as_json: bool) -> int:
    """Remove the cloud reaper and everything `labrun reaper deploy` made."""
    from labrun import cloudreaper
    from labrun.home import owner

    removed = cloudreaper.undeploy(cloudreaper.current_env(), None if all_owners else owner())
    if as_json:
        print_json({"removed": removed})
    elif removed:
        console().print("Removed: " + ", ".join(removed) + ".")
    else:
        console().print("No cloud reaper was deployed there.")
    return 0


@reaper.command()
@json_option
def uninstall(as_json: bool) -> int:
    """Remove the reaper's schedule."""
    from labrun import schedule

    removed = schedule.uninstall()
    if as_json:
        print_json({"removed": removed})
    else:
        console().print("Reaper schedule removed." if removed else "The reaper was not scheduled.")
    return 0
