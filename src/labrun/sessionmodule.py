"""A session's copy of its lab's Terraform module: filled in for the session, and run.

Below provisioning, planning and teardown, which all need it: a start prepares the module
before its apply, `labrun plan` prepares a draft session's copy, and a teardown prepares it
again before its destroy (the local cloud's endpoint may have changed since the start).
"""

from __future__ import annotations

from labrun import localcloud, tfmodule
from labrun.session import Session, rfc3339
from labrun.tfengine import Fence, Terraform


def prepare_module(session: Session, endpoint: str | None) -> tfmodule.ModuleInfo:
    """Write the labrun variables and, on the local cloud, the aws provider settings."""
    info = tfmodule.cached_module_info(session.terraform_dir, session.workdir / "module.json")
    configure_module(session, info, endpoint)
    return info


def configure_module(session: Session, info: tfmodule.ModuleInfo, endpoint: str | None) -> None:
    """Fill in session.terraform_dir for `session`: its variables, its local aws provider.
    `labrun plan` uses it on a draft session in a temporary folder."""
    tfmodule.write_variables(
        session.terraform_dir,
        info,
        {
            "labrun_session": session.id,
            "labrun_lab": session.lab,
            "labrun_expires_at": rfc3339(session.expires_at),
            "labrun_workspace": str(session.workspace),
            "labrun_tags": session.tags(),
            "labrun_labels": session.labels(),
        },
    )
    if endpoint:
        tfmodule.write_local_aws_provider(
            session.terraform_dir, info, endpoint, localcloud.REGION, session.tags()
        )


def terraform_for(session: Session, env: dict[str, str], fence: Fence | None = None) -> Terraform:
    """Terraform in the session's module folder, logging to the session's terraform.log;
    under `fence` (the session's lease), when it creates or destroys."""
    return Terraform(session.terraform_dir, env, session.logs_dir / "terraform.log", fence)
