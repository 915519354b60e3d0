"""The errors labrun shows to users: one line, no traceback."""

from __future__ import annotations


class LabrunError(Exception):
    """An expected failure: printed as one line, exit code 3."""

    exit_code = 3


class BadInput(LabrunError):
    """The user asked for something that cannot be: a usage error, exit code 2."""

    exit_code = 2


class ManifestError(BadInput):
    """A lab.toml (or lab folder) that does not follow the lab format."""

    def __init__(self, path: object, field: str, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        super().__init__(where + problem)


class SessionBusy(LabrunError):
    """Another live labrun process holds the session's lease."""


class LeaseLost(LabrunError):
    """This process no longer holds the session's lease: another one took it over."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id}: another labrun process took it over while this one was "
            "paused or unresponsive; it does the teardown"
        )


class Interrupted(LabrunError):
    """Ctrl-C: printed as one line (what was left, and how to stop it), exit code 130."""

    exit_code = 130
