"""Scheduling the reaper: a systemd user timer where systemd runs, else a crontab line.

So that a session past its TTL is torn down within one reaper period, even when the
learner's terminal is closed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from labrun.errors import LabrunError

UNIT = "labrun-reaper"
CRON_MARK = "# labrun-reaper"


@dataclass(frozen=True)
class Schedule:
    """Where the reaper is scheduled (if anywhere) and how often."""

    installed: bool
    method: str | None  # "systemd" or "cron"
    every: str | None
    command: str

    def to_json(self) -> dict[str, object]:
        return {
            "installed": self.installed, "method": self.method, "every": self.every,
            "command": self.command,
        }  # fmt: skip


def reap_command() -> str:
    """The reap command the schedule runs: this Python, this LABRUN_HOME, this owner."""
    from labrun.home import labrun_home, owner

    env = f"LABRUN_HOME={shlex.quote(str(labrun_home()))} LABRUN_OWNER={shlex.quote(owner())}"
    return f"{env} {shlex.quote(sys.executable)} -m labrun reap --json"


def systemd_available() -> bool:
    if shutil.which("systemctl") is None:
        return False
    probe = subprocess.run(
        ["systemctl", "--user", "show-environment"], capture_output=True, check=False
    )
    return probe.returncode == 0


def install(every: timedelta) -> Schedule:
    seconds = int(every.total_seconds())
    if seconds < 60:
        raise LabrunError("the reaper runs at most once a minute: use --every 1m or more")
    if systemd_available():
        return _install_systemd(seconds)
    if shutil.which("crontab"):
        return _install_cron(seconds)
    raise LabrunError(
        "neither a systemd user session nor crontab is available: run "
        f"`{reap_command()}` from your own scheduler"
    )


def status() -> Schedule:
    if systemd_available() and _unit_dir().joinpath(f"{UNIT}.timer").exists():
        timer = _unit_dir().joinpath(f"{UNIT}.timer").read_text()
        every = next(
            (ln.split("=", 1)[1] for ln in timer.splitlines() if ln.startswith("OnUnitActiveSec")),
            None,
        )  # fmt: skip
        return Schedule(True, "systemd", every, reap_command())
    for line in _crontab_lines():
        if line.endswith(CRON_MARK):
            minutes = line.split()[0].removeprefix("*/")
            every = "1m" if minutes == "*" else f"{minutes}m"
            return Schedule(True, "cron", every, reap_command())
    return Schedule(False, None, None, reap_command())


def uninstall() -> bool:
    removed = False
    unit_dir = _unit_dir()
    if (unit_dir / f"{UNIT}.timer").exists():
        if systemd_available():
            _systemctl("disable", "--now", f"{UNIT}.timer")
        for suffix in ("timer", "service"):
            (unit_dir / f"{UNIT}.{suffix}").unlink(missing_ok=True)
        removed = True
    lines = _crontab_lines()
    kept = [ln for ln in lines if not ln.endswith(CRON_MARK)]
    if len(kept) != len(lines):
        _write_crontab(kept)
        removed = True
    return removed


def _unit_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def _install_systemd(seconds: int) -> Schedule:
    unit_dir = _unit_dir()
    unit_dir.mkdir(parents=True, exist_ok=True)
    command = systemd_escape(shlex.quote(reap_command()))
    (unit_dir / f"{UNIT}.service").write_text(
        "[Unit]\nDescription=labrun reaper: tear down forgotten lab sessions\n\n"
        f"[Service]\nType=oneshot\nExecStart=/bin/sh -c {command}\n"
    )
    (unit_dir / f"{UNIT}.timer").write_text(
        f"[Unit]\nDescription=Run the labrun reaper every {seconds}s\n\n"
        f"[Timer]\nOnBootSec=60s\nOnUnitActiveSec={seconds}s\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    _systemctl("daemon-reload")
    _systemctl("enable", "--now", f"{UNIT}.timer")
    return Schedule(True, "systemd", f"{seconds}s", reap_command())


def _install_cron(seconds: int) -> Schedule:
    minutes = max(1, round(seconds / 60))
    if minutes > 59:
        raise LabrunError("with cron the reaper runs at least hourly: use --every 59m or less")
    spec = "*" if minutes == 1 else f"*/{minutes}"
    log = shlex.quote(str(_log_path()))
    line = f"{spec} * * * * {cron_escape(reap_command())} >>{cron_escape(log)} 2>&1 {CRON_MARK}"
    kept = [ln for ln in _crontab_lines() if not ln.endswith(CRON_MARK)]
    _write_crontab([*kept, line])
    return Schedule(True, "cron", f"{minutes}m", reap_command())


def cron_escape(command: str) -> str:
    """cron turns an unescaped % of a command into a newline (the rest becomes its stdin)."""
    return command.replace("%", "\\%")


def systemd_escape(command: str) -> str:
    """systemd expands %-specifiers in ExecStart= (%h, %u...): %% is a literal %."""
    return command.replace("%", "%%")


def _log_path() -> Path:
    from labrun.home import logs_dir

    return logs_dir() / "reaper.log"


def _crontab_lines() -> list[str]:
    if shutil.which("crontab") is None:
        return []
    listing = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return listing.stdout.splitlines() if listing.returncode == 0 else []


def _write_crontab(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    done = subprocess.run(["crontab", "-"], input=text, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise LabrunError(f"crontab refused the new table: {done.stderr.strip()}")


def _systemctl(*args: str) -> None:
    done = subprocess.run(
        ["systemctl", "--user", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LabrunError(f"systemctl --user {' '.join(args)}: {done.stderr.strip()}")
