"""Stopping a session: Terraform destroy, then the proof that nothing of it remains."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labrun import environment, inventory
from labrun.session import Session, rfc3339, session_manifest, utcnow
from labrun.store import SessionStore
from labrun.tfengine import ProgressCallback


@dataclass
class Receipt:
    """What a teardown did and what it found afterwards. `ok` only when nothing remains."""

    session: str
    destroyed: list[str] = field(default_factory=list)
    remaining: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unchecked: dict[str, str] = field(default_factory=dict)
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        return not self.remaining and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "ok": self.ok,
            "destroyed": self.destroyed,
            "remaining": self.remaining,
            "errors": self.errors,
            "checked": self.checked,
            "unchecked": self.unchecked,
            "finished_at": self.finished_at,
        }


def stop(
    store: SessionStore, session: Session, progress: ProgressCallback | None = None
) -> Receipt:
    """Destroy the session's resources, verify that none remain, record the receipt."""
    from labrun.provision import prepare_module, terraform_for

    store.update(session.id, status="tearing-down")
    manifest = session_manifest(session)
    endpoint = environment.cloud_endpoint_for(manifest, session)
    env = environment.session_env(session, endpoint)
    receipt = Receipt(session=session.id)
    if session.terraform_dir.is_dir():
        prepare_module(session, endpoint)  # the cloud's endpoint may have changed since start
        terraform = terraform_for(session, env)
        if not (session.terraform_dir / ".terraform").is_dir():
            terraform.init()  # a crash before init: nothing to destroy but the state check
        result = terraform.destroy(progress)
        receipt.destroyed = result.changed
        receipt.errors.extend(result.errors)
        left = terraform.state_addresses()
        receipt.remaining.extend({"kind": "terraform", "id": a} for a in left)
    found = inventory.session_inventory(session, env, "docker" in manifest.requires)
    receipt.remaining.extend(r.to_json() for r in found.remnants)
    receipt.checked = ["terraform-state", *found.checked]
    receipt.unchecked = found.unchecked
    receipt.finished_at = rfc3339(utcnow())
    store.journal(session.id, "teardown", receipt.to_json())
    store.update(session.id, status="ended" if receipt.ok else "failed")
    _stop_idle_cloud()
    return receipt


def _stop_idle_cloud() -> None:
    """Do not leave resources running: the emulator included, once no local session is left."""
    from labrun import localcloud

    localcloud.stop_if_idle()
