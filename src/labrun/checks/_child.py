"""The checker process (``python -m labrun.checks._child``): imports check.py and runs checks.

It holds no grading policy (order, needs, timeouts): the parent, labrun.checker, decides
and may kill this process at any time. The protocol is JSON lines.

stdin, first line, the request::

    {"check_py": "/labs/demo/check.py",
     "context": {"session": ..., "lab": ..., "workspace": ..., "outputs": {...},
                 "tags": {...}, "labels": {...}, "env": {...}}}

stdout, answering it, one of::

    {"event": "ready", "checks": [{"id": "build", "needs": [], "timeout": null}, ...]}
    {"event": "import-error", "message": "check.py failed to import: <one line>"}  (then exit)

then for each further stdin line ``{"run": "<task id>"}``::

    {"event": "start", "id": "build"}
    {"event": "result", "id": "build", "status": "pass|partial|fail|error",
     "score": 1.0, "message": "...", "hint": "..." or null}

"start" is informational. EOF on stdin ends the process. Progress lines ("labrun: running
check 'build'"), tracebacks and anything a check prints go to stderr, which
the parent appends to the session log: the protocol streams are moved off fds 0 and 1
before any lab code runs, so neither ``print`` nor a subprocess can corrupt them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any

from labrun.checks import Check, CheckFailed, Context, registered


def main() -> int:
    requests, replies = _claim_protocol_streams()
    request = json.loads(requests.readline())
    try:
        checks = _import_check_py(Path(request["check_py"]))
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        message = f"check.py failed to import: {_one_line(exc)}"
        _reply(replies, {"event": "import-error", "message": message})
        return 1
    _reply(replies, {"event": "ready", "checks": [_describe(c) for c in checks.values()]})
    ctx = _context(request["context"])
    for line in requests:
        task_id = json.loads(line)["run"]
        print(f"labrun: running check {task_id!r}", file=sys.stderr)
        _reply(replies, {"event": "start", "id": task_id})
        _reply(replies, {"event": "result", "id": task_id, **_run(checks[task_id], ctx)})
    return 0


def _claim_protocol_streams() -> tuple[IO[str], IO[str]]:
    """Keep private copies of stdin/stdout, then point fd 0 at /dev/null and fd 1 at stderr."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, replies


def _reply(replies: IO[str], event: dict[str, Any]) -> None:
    replies.write(json.dumps(event) + "\n")
    replies.flush()


def _import_check_py(path: Path) -> dict[str, Check]:
    """Import check.py by path, its folder first on sys.path so it may import its helpers."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("check", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check"] = module
    spec.loader.exec_module(module)
    return registered()


def _describe(check: Check) -> dict[str, Any]:
    return {"id": check.id, "needs": list(check.needs), "timeout": check.timeout}


def _context(data: dict[str, Any]) -> Context:
    return Context(
        session=str(data.get("session", "")),
        lab=str(data.get("lab", "")),
        workspace=Path(data.get("workspace") or os.getcwd()),
        outputs=data.get("outputs") or {},
        tags=data.get("tags") or {},
        labels=data.get("labels") or {},
        env=data.get("env") or {},
    )


def _run(check: Check, ctx: Context) -> dict[str, Any]:
    """Call one check; a CheckFailed is a grade, any other exception is an error."""
    try:
        check.function(ctx)
    except CheckFailed as failed:
        return {
            "status": _status(failed.score),
            "score": failed.score,
            "message": failed.message,
            "hint": failed.hint,
        }
    except (Exception, SystemExit) as exc:
        # Start the traceback at the check's frame: this module's frame is noise to authors.
        traceback.print_exception(type(exc), exc, exc.__traceback__ and exc.__traceback__.tb_next)
        message = f"{_one_line(exc)} (traceback in the log)"
        return {"status": "error", "score": 0.0, "message": message, "hint": None}
    return {"status": "pass", "score": 1.0, "message": "", "hint": None}


def _status(score: float) -> str:
    if score >= 1:
        return "pass"
    return "partial" if score > 0 else "fail"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


if __name__ == "__main__":
    raise SystemExit(main())
