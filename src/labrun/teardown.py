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

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from labrun import awsenv, environment, identity
from labrun.errors import LabrunError, LeaseLost
from labrun.identity import CloudIdentity
from labrun.lease import Lease, held
from labrun.session import Session, rfc3339, session_manifest, utcnow
from labrun.sessionmodule import prepare_module, terraform_for
from labrun.store import SessionStore
from labrun.sweep import Marks, Sweeper, sweep
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
    forgotten: list[str] = field(default_factory=list)  # state addresses `--forget-state` dropped
    forgotten_errors: list[str] = field(default_factory=list)  # the destroy's, kept in the journal

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
            "forgotten": self.forgotten,
        }


class AccountMismatch(LabrunError):
    """The credentials at hand reach another AWS account than the session's: a teardown
    there would find nothing and call the session clean."""


def stop(
    store: SessionStore,
    session: Session,
    progress: ProgressCallback | None = None,
    *,
    final_status: str = "ended",
    lease: Lease | None = None,
    forget_state: bool = False,
) -> Receipt:
    """Tear the session down under its lease (`lease`: the caller, a failing start, holds
    it already); record the receipt and the new status. LeaseLost when another process
    takes the lease over meanwhile: the status is then its business.

    `forget_state`: when Terraform's destroy keeps failing but the sweep proves that
    nothing marked remains, what is left in the state is forgotten (listed in the receipt
    and the journal) instead of keeping the session live forever. Raises AccountMismatch
    (the session stays tearing-down) when the credentials reach another account.
    """
    if lease is not None:
        return _stop(lease, session, progress, final_status, forget_state)
    with held(store, session.id) as taken:
        return _stop(taken, store.get(session.id), progress, final_status, forget_state)


def _stop(
    lease: Lease,
    session: Session,
    progress: ProgressCallback | None,
    final_status: str,
    forget_state: bool = False,
) -> Receipt:
    store = lease.store
    lease.update(status="tearing-down")
    receipt = Receipt(session=session.id)
    try:
        _pipeline(session, receipt, progress, lease, forget_state)
    except LeaseLost:
        raise
    except AccountMismatch as exc:
        store.journal(session.id, "teardown-refused", {"error": str(exc)})
        raise
    except Exception as exc:  # whatever it is, it is reported and the session stays live
        receipt.errors.append(describe(exc))
    receipt.finished_at = rfc3339(utcnow())
    store.journal(session.id, "teardown", receipt.to_json())
    if receipt.forgotten:
        detail = {"addresses": receipt.forgotten, "destroy_errors": receipt.forgotten_errors}
        store.journal(session.id, "state-forgotten", detail)
    if receipt.ok:
        lease.update(status=final_status)
        if _used_local_cloud(session):
            _stop_idle_cloud()
    return receipt


def describe(exc: BaseException) -> str:
    """One line for an error of any kind (labrun's own say what they are already)."""
    if isinstance(exc, LabrunError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _pipeline(
    session: Session,
    receipt: Receipt,
    progress: ProgressCallback | None,
    lease: Lease,
    forget_state: bool,
) -> None:
    where = recorded_identity(session)
    endpoint = None
    if where.cloud == identity.LOCAL:
        from labrun import localcloud

        endpoint = localcloud.endpoint_for_teardown()
    env = environment.session_env(session, endpoint)
    # Teardowns in an AWS account run one at a time in a process (the reaper's threads):
    # they set the account's config files in the process environment for botocore.
    with awsenv.files_of(env) if where.cloud == identity.AWS else nullcontext():
        _pipeline_in(session, receipt, progress, lease, forget_state, where, env, endpoint)


def _pipeline_in(
    session: Session,
    receipt: Receipt,
    progress: ProgressCallback | None,
    lease: Lease,
    forget_state: bool,
    where: CloudIdentity,
    env: dict[str, str],
    endpoint: str | None,
) -> None:
    if where.cloud == identity.AWS:
        require_same_account(session, where, env)
    places = sweepers(where, env, receipt)
    marks = Marks(session=session.id, owner=session.owner, since=session.created_at)
    destroy_errors = _destroy(session, env, endpoint, receipt, progress, lease)
    if destroy_errors:
        # Something of the session blocked the destroy (the learner's container on the lab's
        # network, an object in its bucket): sweep, then let Terraform try once more.
        for place in places:
            _sweep(receipt, place, marks, final=False)
        destroy_errors = _destroy(session, env, endpoint, receipt, progress, lease)
    for place in places:
        if _sweep(receipt, place, marks, final=True):
            receipt.unowned.extend(_unmarked(place.sweeper, session))
            if f"{place.sweeper.name}-marks" not in receipt.checked:
                receipt.checked.append(f"{place.sweeper.name}-marks")
    if forget_state:  # proven: every place was reached and listed without an error
        destroy_errors = _forget_state(receipt, destroy_errors, proven=not receipt.errors)
    receipt.errors.extend(destroy_errors)


def recorded_identity(session: Session) -> CloudIdentity:
    """Where the session's resources are: its record; for a session recorded before
    identities were, what its lab needs as this shell reaches it."""
    if session.identity is not None:
        return session.identity
    try:
        requires: tuple[str, ...] = session_manifest(session).requires
    except OSError:  # the work folder is gone: look wherever the session could have been
        requires = ("aws", "docker")
    from labrun import localcloud

    return identity.capture(session.target, requires, None, localcloud.REGION)


def require_same_account(session: Session, where: CloudIdentity, env: dict[str, str]) -> None:
    """The credentials at hand must reach the session's account (and an allowed one)."""
    from labrun import config

    current = config.require_allowed_account(env)
    if where.account and current != where.account:
        raise AccountMismatch(
            f"session {session.id} runs in AWS account {where.account}, but these credentials "
            f"reach account {current}: refused (use credentials for account {where.account})"
        )


def _forget_state(receipt: Receipt, destroy_errors: list[str], proven: bool) -> list[str]:
    """Drop the Terraform state from the proof, only when the sweep proved the rest."""
    state = [r["id"] for r in receipt.remaining if r["kind"] == "terraform"]
    others = [r for r in receipt.remaining if r["kind"] != "terraform"]
    if not state and not destroy_errors:
        return destroy_errors  # nothing to forget
    if others or not proven:
        receipt.errors.append(
            "--forget-state refused: the sweep did not prove that nothing marked remains"
        )
        return destroy_errors
    receipt.forgotten = state
    receipt.forgotten_errors = destroy_errors
    receipt.remaining = others
    return []


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
        return []  # the work folder is gone: the sweep by marks is the whole proof
    try:
        return _destroy_module(session, env, endpoint, receipt, progress, lease)
    except LeaseLost:
        raise
    except Exception as exc:  # reported; the sweep still runs
        return [f"terraform: {describe(exc)}"]


def _destroy_module(
    session: Session, env: dict[str, str], endpoint: str | None, receipt: Receipt,
    progress: ProgressCallback | None, lease: Lease,
) -> list[str]:  # fmt: skip
    session.logs_dir.mkdir(exist_ok=True)
    terraform = terraform_for(session, env, lease)
    terraform.kill_leftover()
    errors: list[str] = []
    if terraform.has_state():  # none: killed before apply recorded anything; the sweep acts
        prepare_module(session, endpoint)  # the cloud's endpoint may have changed since start
        result = terraform.destroy(progress)
        receipt.destroyed.extend(result.changed)
        errors = result.errors
    left = terraform.state_addresses()
    receipt.remaining = [r for r in receipt.remaining if r["kind"] != "terraform"]
    receipt.remaining.extend({"kind": "terraform", "id": a} for a in left)
    if "terraform-state" not in receipt.checked:
        receipt.checked.append("terraform-state")
    return errors


class Place(NamedTuple):
    """A sweeper, and how the receipt names it ("aws (eu-west-1)", "docker")."""

    label: str
    sweeper: Sweeper


def _sweep(receipt: Receipt, place: Place, marks: Marks, final: bool) -> bool:
    """One sweep of one place, its result in the receipt; False when it failed (reported:
    an AccessDenied or a lost connection in one place does not stop the others)."""
    try:
        # The final sweep comes after Terraform's destroy, which usually left nothing.
        swept = sweep(place.sweeper, marks, expect_clean=final)
    except Exception as exc:
        if final:
            receipt.errors.append(f"{place.label}: {describe(exc)}")
        return False
    receipt.swept.extend(r.to_json() for r in swept.removed)
    if final:  # only the last listing is the proof of what remains
        receipt.remaining.extend(r.to_json() for r in swept.remaining)
        receipt.errors.extend(f"{r.kind} {r.id}: {error}" for r, error in swept.failed)
    return True


def _unmarked(sweeper: Sweeper, session: Session) -> list[dict[str, Any]]:
    try:
        return [r.to_json() for r in sweeper.unmarked_since(session.created_at)]
    except Exception:  # a report for the learner, not a proof: it never fails a teardown
        return []


def sweepers(where: CloudIdentity, env: dict[str, str], receipt: Receipt) -> list[Place]:
    """Where the session's resources can be: its cloud in each of its regions, and its
    Docker engine. A place that cannot be reached is an error of the receipt."""
    found: list[Place] = []
    if where.cloud:
        from labrun.sweep.aws import AwsSweeper

        for region in where.regions or (None,):
            label = f"aws ({region})" if region else "aws"
            found.append(Place(label, AwsSweeper(in_region(env, region))))
    if where.docker_host:
        from labrun import dockerengine
        from labrun.sweep.docker import DockerSweeper

        engine = dockerengine.client(host=where.docker_host)
        if engine is None:
            receipt.errors.append(
                f"no Docker engine answers at {where.docker_host}: the session's containers "
                "are unchecked"
            )
        else:
            found.append(Place(f"docker ({where.docker_host})", DockerSweeper(engine)))
    return found


def in_region(env: dict[str, str], region: str | None) -> dict[str, str]:
    """`env` pointed at `region` (None: as it is)."""
    return {**env, "AWS_REGION": region, "AWS_DEFAULT_REGION": region} if region else dict(env)


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
