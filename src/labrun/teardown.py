"""Stopping a session: Terraform destroy, sweep by ownership, verify, receipt.

One pipeline for `labrun stop`, the reaper and TTL expiry:
  a. Terraform destroy (transient errors retried, bounded);
  b. sweep: everything still carrying the session's mark (or living inside something that
     does) is deleted, in dependency order, listing again after each pass;
  c. verify: the final listing must be empty;
  d. a receipt: what Terraform destroyed, what the sweep removed, what remains, and what was
     created during the session without a mark (reported, never deleted).
A session is marked ended only when nothing of it remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labrun import environment
from labrun.errors import LabrunError, LeaseLost
from labrun.lease import Lease, held
from labrun.session import Session, rfc3339, session_manifest, utcnow
from labrun.sessionmodule import prepare_module, terraform_for
from labrun.store import SessionStore
from labrun.sweep import Marks, Sweeper, SweepResult, sweep
from labrun.tfengine import ProgressCallback


@dataclass
class Receipt:
    """What a teardown did and what it found afterwards. `ok` only when nothing remains."""

    session: str
    destroyed: list[str] = field(default_factory=list)
    swept: list[dict[str, Any]] = field(default_factory=list)
    remaining: list[dict[str, Any]] = field(default_factory=list)
    unowned: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        return not self.remaining and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "ok": self.ok,
            "destroyed": self.destroyed,
            "swept": self.swept,
            "remaining": self.remaining,
            "unowned": self.unowned,
            "errors": self.errors,
            "checked": self.checked,
            "finished_at": self.finished_at,
        }


def stop(
    store: SessionStore,
    session: Session,
    progress: ProgressCallback | None = None,
    *,
    final_status: str = "ended",
    lease: Lease | None = None,
) -> Receipt:
    """Tear the session down under its lease (`lease`: the caller, a failing start, holds
    it already); record the receipt and the new status. LeaseLost when another process
    takes the lease over meanwhile: the status is then its business."""
    if lease is not None:
        return _stop(lease, session, progress, final_status)
    with held(store, session.id) as taken:
        return _stop(taken, store.get(session.id), progress, final_status)


def _stop(
    lease: Lease, session: Session, progress: ProgressCallback | None, final_status: str
) -> Receipt:
    store = lease.store
    lease.update(status="tearing-down")
    receipt = Receipt(session=session.id)
    try:
        _pipeline(session, receipt, progress, lease)
    except LeaseLost:
        raise
    except LabrunError as exc:
        receipt.errors.append(str(exc))
    receipt.finished_at = rfc3339(utcnow())
    store.journal(session.id, "teardown", receipt.to_json())
    if receipt.ok:
        lease.update(status=final_status)
        if _used_local_cloud(session):
            _stop_idle_cloud()
    return receipt


def _pipeline(
    session: Session, receipt: Receipt, progress: ProgressCallback | None, lease: Lease
) -> None:
    manifest = session_manifest(session)
    endpoint = None
    if environment.needs_local_cloud(manifest, session.target):
        from labrun import localcloud

        endpoint = localcloud.endpoint_for_teardown()
    env = environment.session_env(session, endpoint)
    places = sweepers(session, env, "docker" in manifest.requires)
    marks = Marks(session=session.id, owner=session.owner, since=session.created_at)
    destroy_errors = _destroy(session, env, endpoint, receipt, progress, lease)
    if destroy_errors:
        # Something of the session blocked the destroy (the learner's container on the lab's
        # network, an object in its bucket): sweep, then let Terraform try once more.
        for sweeper in places:
            _record(receipt, sweep(sweeper, marks), final=False)
        destroy_errors = _destroy(session, env, endpoint, receipt, progress, lease)
    receipt.errors.extend(destroy_errors)
    for sweeper in places:
        _record(receipt, sweep(sweeper, marks, expect_clean=True), final=True)
        receipt.unowned.extend(r.to_json() for r in sweeper.unmarked_since(session.created_at))
        receipt.checked.append(f"{sweeper.name}-marks")


def _destroy(
    session: Session,
    env: dict[str, str],
    endpoint: str | None,
    receipt: Receipt,
    progress: ProgressCallback | None,
    lease: Lease,
) -> list[str]:
    """Terraform destroy; the state must be empty afterwards. Returns the errors."""
    if not session.terraform_dir.is_dir():
        return []
    prepare_module(session, endpoint)  # the cloud's endpoint may have changed since start
    terraform = terraform_for(session, env, lease)
    terraform.kill_leftover()
    errors: list[str] = []
    if terraform.has_state():  # none: killed before apply recorded anything; the sweep acts
        result = terraform.destroy(progress)
        receipt.destroyed.extend(result.changed)
        errors = result.errors
    left = terraform.state_addresses()
    receipt.remaining = [r for r in receipt.remaining if r["kind"] != "terraform"]
    receipt.remaining.extend({"kind": "terraform", "id": a} for a in left)
    if "terraform-state" not in receipt.checked:
        receipt.checked.append("terraform-state")
    return errors


def _record(receipt: Receipt, swept: SweepResult, final: bool) -> None:
    receipt.swept.extend(r.to_json() for r in swept.removed)
    if final:  # only the last listing is the proof of what remains
        receipt.remaining.extend(r.to_json() for r in swept.remaining)
        receipt.errors.extend(f"{r.kind} {r.id}: {error}" for r, error in swept.failed)


def sweepers(session: Session, env: dict[str, str], uses_docker: bool) -> list[Sweeper]:
    """Where the session's resources can be: its cloud, and the Docker engine if it uses one."""
    found: list[Sweeper] = []
    if "AWS_ENDPOINT_URL" in env or session.target == "aws":
        from labrun.sweep.aws import AwsSweeper

        if session.target == "aws":
            from labrun import config

            config.require_allowed_account(env)

        found.append(AwsSweeper(env))
    if uses_docker:
        from labrun import dockerengine
        from labrun.sweep.docker import DockerSweeper

        engine = dockerengine.client()
        if engine is None:
            raise LabrunError("no Docker engine answers: the session's containers are unchecked")
        found.append(DockerSweeper(engine))
    return found


def _used_local_cloud(session: Session) -> bool:
    """Its env says so, or its lab needs it (a start stopped before it recorded its env)."""
    if session.target != "local":
        return False
    if "AWS_ENDPOINT_URL" in session.env:
        return True
    try:
        return environment.needs_local_cloud(session_manifest(session), session.target)
    except (OSError, LabrunError):  # its work folder is gone: nothing says it did
        return False


def _stop_idle_cloud() -> None:
    """Do not leave resources running: the emulator included, once no local session is left."""
    from labrun import localcloud

    localcloud.stop_if_idle()
