"""A Python like AWS Lambda's: the standard library and boto3, nothing else (no labrun).

The cloud reaper's zip is unpacked and its handler run here, in a child process with the
environment the function would get, since invoking a function in moto needs Docker images
from a registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

# Run with -I (no PYTHONPATH, no user site, no current folder): only the task root is added,
# as the Lambda runtime adds /var/task.
RUN = """
import json, sys
root = sys.argv[1]
sys.path.insert(0, root)
import labrun
assert labrun.__file__.startswith(root), labrun.__file__
module, _, name = sys.argv[2].rpartition(".")
handler = getattr(__import__(module, fromlist=[name]), name)
print(json.dumps(handler({"source": "aws.events"}, None)))
"""


def boto3_only_python(venv: Path) -> Path:
    """A venv at `venv` with boto3 installed (by uv when it is there, else pip); its python."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), "boto3"], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "boto3"], check=True)
    return python


def unpack(package: Path, root: Path) -> Path:
    with zipfile.ZipFile(package) as zipped:
        zipped.extractall(root)
    return root


def run_handler(
    python: Path, root: Path, handler: str, env: dict[str, str], timeout: float = 300
) -> Any:
    """Run `handler` from the unpacked package at `root`; its return value."""
    proc = subprocess.run(
        [str(python), "-I", "-c", RUN, str(root), handler],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])
