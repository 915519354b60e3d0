"""An interactive shell in a session's workspace, with its environment and a prompt marker.

The marker goes where each shell reads its prompt after the user's own startup files:
bash through an --rcfile that sources ~/.bashrc first, zsh through a ZDOTDIR whose files
source the user's, fish through --init-command; any other shell gets PS1. labrun waits for
the shell and ignores Ctrl-C meanwhile (the shell handles it), then returns its status.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labrun.awsenv import overlay
from labrun.errors import BadInput


def marker(session_id: str) -> str:
    return f"(labrun {session_id}) "


def run(session_id: str, workspace: Path, env: dict[str, str]) -> int:
    """Run the user's shell ($SHELL, else /bin/sh) until it exits; its exit status."""
    program = os.environ.get("SHELL") or "/bin/sh"
    if not os.access(program, os.X_OK):
        raise BadInput(f"SHELL={program} is not a program this user can run")
    full_env = {**overlay(os.environ, env), "LABRUN_SHELL": session_id}
    with tempfile.TemporaryDirectory(prefix="labrun-shell-") as tmp:
        argv = _with_prompt(program, marker(session_id), full_env, Path(tmp))
        with _signals_to_the_shell():
            return subprocess.run(argv, cwd=workspace, env=full_env, check=False).returncode


def _with_prompt(program: str, mark: str, env: dict[str, str], tmp: Path) -> list[str]:
    """The shell's command line, after putting `mark` in front of its prompt."""
    name = Path(program).name
    if name == "bash":
        bashrc = tmp / "bashrc"
        bashrc.write_text(f'[ -f ~/.bashrc ] && . ~/.bashrc\nPS1={shlex.quote(mark)}"$PS1"\n')
        return [program, "--rcfile", str(bashrc)]
    if name == "zsh":
        home = env.get("ZDOTDIR") or env.get("HOME", "")
        source = f"[ -f {shlex.quote(home)}/.zshenv ] && . {shlex.quote(home)}/.zshenv\n"
        (tmp / ".zshenv").write_text(source)
        rc = source.replace(".zshenv", ".zshrc") + f'PROMPT={shlex.quote(mark)}"$PROMPT"\n'
        (tmp / ".zshrc").write_text(rc)
        env["ZDOTDIR"] = str(tmp)
        return [program]
    if name == "fish":
        wrap = (
            "functions -c fish_prompt _labrun_prompt; "
            f"function fish_prompt; echo -n {shlex.quote(mark)}; _labrun_prompt; end"
        )
        return [program, "--init-command", wrap]
    env["PS1"] = mark + env.get("PS1", "$ ")
    return [program]


@contextmanager
def _signals_to_the_shell() -> Iterator[None]:
    """Ctrl-C and Ctrl-\\ belong to the shell while it runs. A Python handler (not SIG_IGN,
    which a child would inherit) keeps labrun waiting and leaves the shell's defaults."""
    caught = (signal.SIGINT, signal.SIGQUIT)
    previous = {s: signal.signal(s, lambda *_: None) for s in caught}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
