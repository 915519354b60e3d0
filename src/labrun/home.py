"""Where labrun keeps its state (LABRUN_HOME) and who this installation is (the owner)."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

OWNER_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # matched whole: fullmatch


def labrun_home() -> Path:
    """LABRUN_HOME, else $XDG_STATE_HOME/labrun, else ~/.local/state/labrun (created on demand)."""
    explicit = os.environ.get("LABRUN_HOME")
    if explicit:
        home = Path(explicit).expanduser()
    else:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        home = Path(state) / "labrun"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    _private(home, 0o700)  # sessions' states and logs live here: the user's alone
    return home.resolve()


def _private(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def private_file(path: Path, create: bool = True) -> None:
    """Make `path` readable and writable by the user alone (created empty if `create`)."""
    if create:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif not path.exists():
        return
    _private(path, 0o600)


def cache_dir() -> Path:
    """What labrun can compute again, shared by every LABRUN_HOME of the user (a lab's
    module read by Terraform's loader): LABRUN_CACHE_DIR, else $XDG_CACHE_HOME/labrun,
    else ~/.cache/labrun."""
    explicit = os.environ.get("LABRUN_CACHE_DIR")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(explicit).expanduser() if explicit else Path(base) / "labrun"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def sessions_dir() -> Path:
    path = labrun_home() / "sessions"
    path.mkdir(exist_ok=True)
    return path


def logs_dir() -> Path:
    path = labrun_home() / "logs"
    path.mkdir(exist_ok=True)
    return path


def plugin_cache_dir() -> Path:
    """One Terraform provider cache for every session, so a provider is downloaded once."""
    path = labrun_home() / "plugin-cache"
    path.mkdir(exist_ok=True)
    return path


def owner() -> str:
    """LABRUN_OWNER, else an id generated once per LABRUN_HOME and kept in its `owner` file."""
    from labrun.errors import BadInput

    explicit = os.environ.get("LABRUN_OWNER")
    if explicit:
        if not OWNER_RE.fullmatch(explicit):
            raise BadInput(
                f"LABRUN_OWNER={explicit!r}: use lowercase letters, digits and '-' (at most 63)"
            )
        return explicit
    path = labrun_home() / "owner"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    generated = "lr-" + secrets.token_hex(4)
    # O_EXCL: when two processes race, both end up with the one that was written first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(generated + "\n")
    return generated


def installation_id() -> str:
    """This LABRUN_HOME's id, generated once: it marks what this installation creates, so
    that two installations sharing one LABRUN_OWNER can tell each other's sessions apart."""
    path = labrun_home() / "installation"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:  # O_EXCL: when two processes race, both end up with the one written first
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    generated = "i-" + secrets.token_hex(6)
    with os.fdopen(fd, "w") as f:
        f.write(generated + "\n")
    return generated
