"""Starting a session: record it, lay out its work folder, provision its lab with Terraform.

The session is recorded before anything is created, so a crash at any point leaves a
session that `labrun stop` can find and tear down.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from datetime import timedelta
from typing import Any

from labrun import awsenv, environment, estimate, identity, lease, localcloud, teardown, tfmodule
from labrun.catalog import Lab, check_target
from labrun.durations import format_duration, parse_duration
from labrun.errors import BadInput, Interrupted, LabrunError, LeaseLost
from labrun.home import installation_id, owner, sessions_dir
from labrun.identity import CloudIdentity
from labrun.session import LIVE_STATUSES, Session, new_session_id, utcnow
from labrun.sessionmodule import prepare_module, terraform_for
from labrun.store import FIRST_GENERATION, SessionStore
from labrun.tfengine import ProgressCallback, terraform_command


def resolve_ttl(lab: Lab, ttl: str | None) -> timedelta:
    """The session's time to live: the lab's default, or --ttl within the lab's max_ttl."""
    if ttl is None:
        return lab.manifest.ttl
    try:
        wanted = parse_duration(ttl)
    except ValueError as exc:
        raise BadInput(f"--ttl: {exc}") from None
    if wanted > lab.manifest.max_ttl:
        limit = format_duration(lab.manifest.max_ttl)
        raise BadInput(f"--ttl {ttl} is longer than {lab.id}'s max_ttl ({limit})")
    return wanted


def preflight(lab: Lab, target: str) -> tuple[tfmodule.ModuleInfo, CloudIdentity]:
    """What must hold before anything is created: the module's declarations, and what the
    session will run against (its cloud identity, recorded with it)."""
    check_target(lab, target)
    terraform_command()  # a LABRUN_TERRAFORM that names nothing fails here
    account = None
    if target == "aws":
        from labrun import config

        shell = awsenv.passthrough()
        account = config.require_allowed_account(shell)
        if awsenv.resolve_region(shell) is None:
            raise BadInput(
                "--target aws: no AWS region is set (AWS_REGION, AWS_DEFAULT_REGION, or "
                f"`region` in your profile in {awsenv.config_file(shell)})"
            )
    if "docker" in lab.manifest.requires:
        from labrun import dockerengine

        dockerengine.require_engine()
    info = tfmodule.inspect_module(lab.terraform_dir)  # a module Terraform cannot read fails
    recorded = identity.capture(target, lab.manifest.requires, account, localcloud.REGION)
    return info, recorded


def create_session(
    store: SessionStore, lab: Lab, target: str, ttl: timedelta, where: CloudIdentity | None = None
) -> Session:
    """Record the session (status provisioning) and lay out its work folder."""
    now = utcnow()
    for _ in range(20):
        session_id = new_session_id()
        session = Session(
            id=session_id, lab=lab.id, lab_dir=lab.path, target=target, status="provisioning",
            created_at=now, expires_at=now + ttl, owner=owner(),
            workdir=sessions_dir() / session_id, identity=where,
            hard_expires_at=now + lab.manifest.max_ttl, installation=installation_id(),
        )  # fmt: skip
        if store.insert(session, lease.process_started(os.getpid())):
            break
    else:
        raise LabrunError("could not draw a free session id")
    session.workdir.mkdir(mode=0o700, parents=True)
    session.logs_dir.mkdir()
    shutil.copy2(lab.path / "lab.toml", session.workdir / "lab.toml")
    if lab.files_dir.is_dir():
        shutil.copytree(lab.files_dir, session.workspace)
    else:
        session.workspace.mkdir()
    tfmodule.copy_module(lab.terraform_dir, session.terraform_dir)
    return session


def start(
    store: SessionStore,
    lab: Lab,
    target: str = "local",
    ttl: str | None = None,
    progress: ProgressCallback | None = None,
    budget: float | None = None,
) -> Session:
    """Start a session of `lab`; on failure, tear down what was made and raise LabrunError.

    `budget` (else the lab's budget_usd) caps the estimate for the TTL: a plan over it, or
    one the policy refuses, is refused before anything is applied.

    Ctrl-C at any point leaves nothing (the local cloud included, when no other session
    uses it) or a session that stays listed: `Interrupted` then names it and how to stop it.
    """
    duration = resolve_ttl(lab, ttl)
    info, where = preflight(lab, target)
    # A Ctrl-C waits until the start can clean up after it: never a session left unnamed.
    held_back = _HeldBack()
    try:
        session = create_session(store, lab, target, duration, where)
        (session.workdir / "module.json").write_text(json.dumps(info.to_json()))
    except BaseException:
        held_back.restore()
        raise
    cap = lab.manifest.budget_usd if budget is None else budget
    try:
        with lease.held(store, session.id, FIRST_GENERATION) as held:
            _provision_or_undo(held, session, lab, progress, cap, held_back)
    except LeaseLost:
        # Paused while another labrun process took the session over: it does the teardown,
        # and the local cloud this start may have brought up goes once nobody uses it.
        store.journal(session.id, "start-stopped", {"reason": "lease lost"})
        _stop_idle_cloud(lab, target)
        raise
    except KeyboardInterrupt:
        raise interrupted(store, session.id) from None
    finally:
        held_back.restore()
    return store.get(session.id)


def interrupted(store: SessionStore, session_id: str) -> Interrupted:
    """The one line for a Ctrl-C during or after a start: what is left, and how to stop it."""
    try:
        status = store.get(session_id).status
    except LabrunError as exc:
        return Interrupted(f"interrupted: session {session_id} is unknown ({exc})")
    if status in LIVE_STATUSES:
        return Interrupted(
            f"interrupted: session {session_id} is still there ({status}): "
            f"`labrun stop {session_id}` tears it down"
        )
    return Interrupted(f"interrupted: session {session_id} {status}; nothing was left running")


def _provision_or_undo(
    held: lease.Lease,
    session: Session,
    lab: Lab,
    progress: ProgressCallback | None,
    budget: float | None,
    held_back: _HeldBack,
) -> None:
    try:
        held_back.release()  # from here on, a Ctrl-C is cleaned up after
        _provision(held, session, lab, progress, budget)
    except LeaseLost:
        raise  # the new holder owns the session now: nothing here may touch it
    except LabrunError as exc:
        cleaned = _undo(held, session, lab, exc)
        after = "nothing was left running" if cleaned else f"run `labrun stop {session.id}`"
        error = LabrunError(f"session {session.id}: {exc} ({after})")
        error.exit_code = exc.exit_code  # a refusal stays a usage error (2)
        raise error from exc
    except BaseException as exc:  # Ctrl-C included: clean up, then let it through
        _undo(held, session, lab, exc)
        raise


def _provision(
    held: lease.Lease,
    session: Session,
    lab: Lab,
    progress: ProgressCallback | None,
    budget: float | None,
) -> None:
    store = held.store
    endpoint = environment.cloud_endpoint_for(lab.manifest, session)
    env = environment.session_env(session, endpoint)
    held.update(env=env)
    prepare_module(session, endpoint)
    plan_file = estimate.before_apply(store, session, lab.manifest, env, budget, progress)
    terraform = terraform_for(session, env, held)  # what was priced is what is applied:
    result = (
        terraform.apply_plan(plan_file, progress)
        if plan_file
        else terraform.init_and_apply(progress)
    )
    store.journal(session.id, "terraform-apply", _summary(result))
    if not result.ok:
        first = result.errors[0] if result.errors else "unknown error"
        raise LabrunError(f"terraform {result.operation} failed: {first}")
    held.update(status="active", outputs=result.outputs)


def _summary(result: object) -> dict[str, object]:
    fields = ("ok", "changed", "errors", "seconds")
    return {k: getattr(result, k) for k in fields}


def _undo(held: lease.Lease, session: Session, lab: Lab, cause: BaseException) -> bool:
    """A start that failed must not leave anything running: tear down what was made, and
    the local cloud too when no other session uses it (it may have been started for this
    one before the session recorded its endpoint).

    The session ends "failed" when nothing remains, else it stays "tearing-down" for a
    later stop or the reaper.
    """
    store = held.store
    store.journal(session.id, "start-failed", {"error": str(cause) or type(cause).__name__})
    try:
        receipt = teardown.stop(store, store.get(session.id), final_status="failed", lease=held)
    except LeaseLost:
        raise
    except Exception as exc:  # the original error matters more; the session stays live
        store.journal(session.id, "cleanup-failed", {"error": str(exc)})
        held.update(status="tearing-down")
        return False
    if receipt.ok:
        _stop_idle_cloud(lab, session.target)
    return receipt.ok


def _stop_idle_cloud(lab: Lab, target: str) -> None:
    if environment.needs_local_cloud(lab.manifest, target):
        from labrun import localcloud

        localcloud.stop_if_idle()


class _HeldBack:
    """Ctrl-C held back from now until `release` (which raises it then) or `restore`."""

    def __init__(self) -> None:
        self.caught = False
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():  # where signals arrive
            self._previous = signal.signal(signal.SIGINT, self._hold)

    def _hold(self, signum: int, frame: object) -> None:
        self.caught = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def release(self) -> None:
        self.restore()
        if self.caught:
            self.caught = False
            raise KeyboardInterrupt
