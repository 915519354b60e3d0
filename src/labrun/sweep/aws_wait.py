"""Waiting, with a deadline, for AWS to release what blocks a delete.

Some deletes wait for AWS to finish something in its own time: an instance shutting down
still holds its volumes and security groups; a NAT gateway stays `deleting` for a minute
or so and holds its elastic IP and its subnet meanwhile; the network interfaces AWS makes
for Lambda functions, NAT gateways and VPC endpoints hold their subnets and security
groups, Lambda's for up to 20 minutes or more after the function is gone.

Each wait lasts at most `LABRUN_SWEEP_WAIT` seconds (default 300). Past it, the delete
fails with one line naming what it waited for: the sweep reports it (the resource stays
in `remaining`) and a later `labrun stop` or reap picks it up again. Never a hang.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from labrun.errors import LabrunError

WAIT_ENV = "LABRUN_SWEEP_WAIT"
DEFAULT_WAIT = 300.0  # seconds: a NAT gateway or an instance takes one or two minutes
POLL = 5.0  # seconds between two looks


class DependencyTimeout(LabrunError):
    """What a delete waited for was still there at its deadline."""


def wait_limit() -> float:
    """The longest one wait may last, in seconds (`LABRUN_SWEEP_WAIT`)."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT
    try:
        limit = float(raw)
    except ValueError:
        limit = -1.0
    if not limit >= 0:  # also refuses NaN
        raise LabrunError(f"{WAIT_ENV} must be a number of seconds, not {raw!r}")
    return limit


def wait_until_gone(what: str, blockers: Callable[[], list[str]]) -> None:
    """Look at `blockers` (the ids still in the way) until it is empty, at most
    `wait_limit()` seconds; past that, raise DependencyTimeout naming them."""
    limit = wait_limit()
    deadline = time.monotonic() + limit
    while True:
        left = blockers()
        if not left:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DependencyTimeout(
                f"gave up after {limit:g} s waiting for {what}: {', '.join(sorted(left))} "
                "(AWS releases them in its own time; a later stop or reap retries)"
            )
        time.sleep(min(POLL, remaining))
