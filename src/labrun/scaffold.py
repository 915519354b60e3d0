"""`labrun lab new NAME`: a complete lab folder to start a new lab from.

The lab it writes is small but whole, and passes `labrun lab test` as written: one task
(write a greeting into a file of the workspace), graded by a check.py with a dynamic hint,
a Terraform module on Terraform's builtin provider (no cloud, no download) that declares
the labrun variables and shows where the marks go, starter files, and a reference
solution. Authors replace the task with theirs, keeping each part.
"""

from __future__ import annotations

from pathlib import Path

from labrun.errors import BadInput
from labrun.manifest import ID_RE

PLACEHOLDER_ID = "__LAB_ID__"
PLACEHOLDER_TITLE = "__LAB_TITLE__"

LAB_TOML = """\
# The manifest: docs/lab-format.md describes every field.
id = "__LAB_ID__"                 # equal to the folder name
title = "__LAB_TITLE__"
summary = "Say hello: write a greeting into a file of your workspace."
version = "1"
difficulty = "beginner"
duration = "5m"
ttl = "1h"
targets = ["local"]
requires = []                   # add "aws" or "docker" when the lab needs them
check_timeout = 30

[[tasks]]
id = "greeting"
title = "Write the session's greeting into greeting.txt"
points = 1
hint = "Copy the line that `labrun start` printed as the output `greeting`."
"""

README = """\
# __LAB_TITLE__

## Goal

Write one line into a file. It is the smallest lab there is: replace it with yours, and
keep the parts (goal, background, tasks, what "done" looks like, clean up).

## Background

A session's **workspace** is the folder `labrun start` printed: your files live there, and
`labrun check` grades what it finds there. Each session has its own **id**, which labrun
puts into the names and the marks of everything it creates.

## Before you start

`labrun start __LAB_ID__` printed your session's card: its workspace and the output
`greeting`. Open a terminal in the workspace (copy the path from your own output):

```bash
cd /some/path/workspace
cat greeting.txt            # a line to replace
```

## Tasks

### 1. Write the greeting (task `greeting`)

Replace the content of `greeting.txt` with the `greeting` output that `labrun start`
printed (it is `hello ` followed by your session id):

```bash
echo "hello SESSION" > greeting.txt     # with your session id
```

## Check your work

```bash
labrun check
```

| task | what labrun checks | points |
|---|---|---|
| `greeting` | greeting.txt holds the session's greeting | 1 |

## What "done" looks like

`labrun check` shows the task as `pass` and says `Score: 1/1 (100%)`.

## Clean up

```bash
labrun stop
```

The receipt ends with "nothing of this session remains". Stop it yourself when you are
done: the session also has a time limit, but do not rely on it.
"""

MAIN_TF = """\
# The lab's Terraform root module: applied by `labrun start`, destroyed by `labrun stop`.
# Terraform's builtin terraform_data needs no provider download. labrun fills in the
# labrun_* variables a module declares (docs/lab-format.md lists them all).

variable "labrun_session" {
  type        = string
  description = "The session id: 8 lowercase letters and digits, safe in resource names."
}

variable "labrun_lab" {
  type        = string
  description = "The lab id."
}

variable "labrun_tags" {
  type        = map(string)
  description = "The session's marks: put them on every AWS resource (tags = var.labrun_tags)."
}

# Mark everything you create: `labrun stop` proves that nothing of the session remains by
# listing what carries these tags (labrun_labels for containers, networks and volumes).
resource "terraform_data" "greeting" {
  input = {
    greeting = "hello ${var.labrun_session}"
    lab      = var.labrun_lab
    tags     = var.labrun_tags
  }
}

output "greeting" {
  description = "The line greeting.txt must hold."
  value       = terraform_data.greeting.output.greeting
}
"""

CHECK_PY = '''\
"""Checks of __LAB_ID__: one function per task of lab.toml (docs/checks.md)."""

from pathlib import Path

from labrun.checks import CheckFailed, task


@task("greeting")
def greeting(ctx):
    """greeting.txt, in the workspace (the current directory), holds the greeting."""
    expected = ctx.outputs["greeting"]
    path = Path("greeting.txt")
    if not path.is_file():
        raise CheckFailed("greeting.txt is missing", hint="Create it in your workspace.")
    written = path.read_text().strip()
    if written != expected:
        raise CheckFailed(
            f"greeting.txt says {written[:40]!r}, not {expected!r}",
            hint=f'echo "{expected}" > greeting.txt',
        )
'''

STARTER = """\
Replace this line with the greeting.
"""

SOLVE_SH = """\
#!/usr/bin/env bash
# The reference solution (never shown to learners): `labrun lab test` runs it in the
# workspace, with the session's environment (LABRUN_SESSION, AWS_ENDPOINT_URL...).
set -euo pipefail

echo "hello ${LABRUN_SESSION}" >greeting.txt
"""

FILES = {
    "lab.toml": LAB_TOML,
    "README.md": README,
    "terraform/main.tf": MAIN_TF,
    "check.py": CHECK_PY,
    "files/greeting.txt": STARTER,
    "solution/solve.sh": SOLVE_SH,
}


def new_lab(name: str, parent: Path) -> list[Path]:
    """Write the lab ``name`` into ``parent/name``; the files written, in FILES order."""
    if not ID_RE.fullmatch(name):
        raise BadInput(f"{name!r} is not a lab id (lowercase letters, digits and '-')")
    lab_dir = parent / name
    if lab_dir.exists():
        raise BadInput(f"{lab_dir} already exists: choose another name or --dir")
    title = name.replace("-", " ").capitalize()
    written = []
    for relative, template in FILES.items():
        path = lab_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = template.replace(PLACEHOLDER_ID, name).replace(PLACEHOLDER_TITLE, title)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    (lab_dir / "solution" / "solve.sh").chmod(0o755)
    return written
