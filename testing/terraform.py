"""Terraform in tests, on a machine that may not reach the provider registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrun.mirror import terraform_error
from labrun.tfengine import Terraform


def init_or_skip(config: Path, log: Path, what: str) -> None:
    """`terraform init` in `config` (logged to `log`), or skip the test if it cannot install
    a provider because the registry is out of reach. Any other failure fails the test.

    `what` names the configuration in the skip reason.
    """
    __tracebackhide__ = True  # pytest reports the skip at the test's line, not this one's
    if Terraform(config, {}, log).init().ok:
        return
    reason = terraform_error(log.read_text())
    assert "could not connect to" in reason, reason  # only a missing registry skips
    pytest.skip(f"terraform init of {what} failed: {reason}")
