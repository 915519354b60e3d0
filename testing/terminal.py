"""A program run in a pseudo-terminal, as a person runs it at a keyboard.

`Terminal` forks the program with a pty as its controlling terminal (so shells are
interactive and pagers page), then lets a test wait for text, type, and collect the exit
status. No timing assertion: `expect` waits up to a deadline for text to appear.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from pathlib import Path
from types import TracebackType


class Terminal:
    """`argv` (an absolute program path first) in a 40x120 terminal, in `cwd`, with `env`."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec, or report why not with a distinctive status
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.pid, self.fd = pid, fd
        self.output = ""  # everything the program has written so far
        self.status: int | None = None

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` has appeared in the output; fail with the transcript if not."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"{text!r} never appeared; output so far:\n{self.output}")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 60) -> int:
        """Read until the program exits; its exit status."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                raise AssertionError(f"the program did not exit; output so far:\n{self.output}")
        _, status = os.waitpid(self.pid, 0)
        self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def _read(self, timeout: float) -> bool:
        """Read what is there (up to `timeout`); False at the end of the output."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the program and its children closed the terminal
            return False
        self.output += chunk.decode(errors="replace")
        return bool(chunk)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)
