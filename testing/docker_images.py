"""Tiny Docker images for tests, built locally because no registry is reachable.

The engine starts with no images and `docker pull` cannot work here, so tests build what they
need from files already on the machine: Debian's statically linked busybox (`busybox-static`)
is enough to stand in for a shell, a web server (`httpd`) and an HTTP client (`wget`); this
machine's own Python interpreter, with busybox for a shell, stands in for `python:3.X-slim`.
Both images carry the label `labrun.test=1` (TEST_LABEL).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound

TEST_LABEL = "labrun.test"
BUSYBOX_TAG = "labrun-test/busybox:1"
BUSYBOX_BINARY = Path("/bin/busybox")  # from Debian's busybox-static: no shared libraries
APPLETS = (
    "sh",
    "httpd",
    "wget",
    "cat",
    "sleep",
    "echo",
    "ls",
    "id",
    "env",
    "true",
    "false",
    "printf",
    "mkdir",
)
# Dockerfile-style instructions applied by `docker import` (the engine's --change option).
IMAGE_CHANGES = ('CMD ["sh"]', f"LABEL {TEST_LABEL}=1")

PYTHON_TAG = "labrun-test/python:{version}"  # the interpreter's X.Y
PYTHON_APPLETS = ("sh", "cp", "cat", "ls", "id", "mkdir", "rm", "dd", "sleep", "echo", "env")
# Left out of the Python image's standard library: tests, tools and installed packages.
SKIPPED_STDLIB = {
    "test", "idlelib", "tkinter", "turtledemo", "lib2to3", "pydoc_data", "distutils",
    "ensurepip", "site-packages", "dist-packages",
}  # fmt: skip
# Run by the host interpreter: its version and where its standard library and extensions are.
_PROBE = (
    "import json, sys, sysconfig; print(json.dumps({"
    "'version': '%d.%d' % sys.version_info[:2], 'stdlib': sysconfig.get_paths()['stdlib'],"
    " 'dynload': sysconfig.get_config_var('DESTSHARED')}))"
)


def docker_available(timeout: float = 3.0) -> bool:
    """Return True if a Docker engine answers a ping within `timeout` seconds.

    The client comes from `docker.from_env`, so DOCKER_HOST and friends are honoured.
    """
    try:
        client = docker.from_env(timeout=timeout)
    except DockerException:  # raised when the server version cannot be fetched
        return False
    try:
        return bool(client.ping())
    except (DockerException, OSError):  # requests' errors are OSErrors
        return False
    finally:
        client.close()


def ensure_busybox_image(
    client: Any, tag: str = BUSYBOX_TAG, busybox: Path = BUSYBOX_BINARY
) -> str:
    """Return `tag`, first importing a busybox-only image under it if the engine lacks it.

    The image holds /bin/busybox, one symlink per applet in APPLETS, and empty /tmp and /www
    (a place for `httpd -h /www` to serve). Its command is `sh` and it carries the label
    `labrun.test=1`, so leftovers are easy to find: `docker images -f label=labrun.test=1`.
    `client` is a `docker.DockerClient`.
    """
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    if not busybox.is_file():
        raise FileNotFoundError(f"{busybox} is missing: apt-get install -y busybox-static")
    repository, _, version = tag.rpartition(":")
    client.api.import_image_from_data(
        _rootfs_tar(busybox), repository=repository, tag=version, changes=list(IMAGE_CHANGES)
    )
    client.images.get(tag)  # the import reports errors in its body: make sure it worked
    return tag


def _rootfs_tar(busybox: Path) -> bytes:
    """Build the image's root filesystem as an in-memory tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory, mode in (("bin", 0o755), ("tmp", 0o1777), ("www", 0o755)):
            tar.addfile(_entry(directory, tarfile.DIRTYPE, mode))
        binary = _entry("bin/busybox", tarfile.REGTYPE, 0o755)
        binary.size = busybox.stat().st_size
        with busybox.open("rb") as data:
            tar.addfile(binary, data)
        for applet in APPLETS:
            link = _entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777)
            link.linkname = "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def _entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    return info


def ensure_python_image(client: Any, busybox: Path = BUSYBOX_BINARY) -> str:
    """Return the tag of a small Python image made from this machine's interpreter, first
    importing it if the engine lacks it (PYTHON_TAG, one per Python X.Y).

    It holds the interpreter as /usr/bin/python3.X (python and python3 link to it), the
    shared libraries it and its extension modules load (found with ldd), its standard
    library without SKIPPED_STDLIB, busybox for /bin/sh and PYTHON_APPLETS, and /etc/passwd
    with root only. Its command is `python3` and it carries the label `labrun.test=1`.
    `client` is a `docker.DockerClient`.
    """
    python = _host_python()
    found = json.loads(subprocess.check_output([str(python), "-c", _PROBE], text=True))
    tag = PYTHON_TAG.format(version=found["version"])
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    rootfs = _python_rootfs_tar(python, Path(found["stdlib"]), Path(found["dynload"]), busybox)
    repository, _, version = tag.rpartition(":")
    client.api.import_image_from_data(
        rootfs, repository=repository, tag=version,
        changes=['CMD ["python3"]', f"LABEL {TEST_LABEL}=1"],
    )  # fmt: skip
    client.images.get(tag)  # the import reports errors in its body: make sure it worked
    return tag


def _host_python() -> Path:
    """A system interpreter whose standard library sits in one folder (Debian's python3)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).exists():
            return Path(candidate).resolve()
    # The interpreter a venv was made from; typeshed does not list this CPython attribute.
    return Path(sys._base_executable).resolve()  # type: ignore[attr-defined]


def _python_rootfs_tar(python: Path, stdlib: Path, dynload: Path, busybox: Path) -> bytes:
    """Build the Python image's root filesystem as an in-memory tar archive."""
    libraries = _shared_libraries([python, *dynload.glob("*.so")])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folders = {"bin", "etc", "tmp", "usr/bin"} | {str(Path(p).parent)[1:] for p in libraries}
        for folder in sorted(folders):
            tar.addfile(_entry(folder, tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755))
        tar.add(python, arcname=f"usr/bin/{python.name}")
        for link in ("python3", "python"):
            _add_link(tar, f"usr/bin/{link}", python.name)
        for library in sorted(libraries):
            tar.add(Path(library).resolve(), arcname=library.lstrip("/"))
        tar.add(stdlib, arcname=str(stdlib).lstrip("/"), filter=_stdlib_filter(stdlib))
        tar.add(busybox, arcname="bin/busybox")
        for applet in PYTHON_APPLETS:
            _add_link(tar, f"bin/{applet}", "busybox")
        _add_file(tar, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _add_file(tar, "etc/group", "root:x:0:\n")
    return buffer.getvalue()


def _shared_libraries(binaries: list[Path]) -> set[str]:
    """The absolute paths of the shared libraries `binaries` load, as ldd lists them."""
    found: set[str] = set()
    for binary in binaries:
        listing = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, check=False
        ).stdout
        found.update(re.findall(r"(/\S+) \(0x", listing))
    return found


def _stdlib_filter(stdlib: Path) -> Callable[[tarfile.TarInfo], tarfile.TarInfo | None]:
    """A `TarFile.add` filter: drops SKIPPED_STDLIB and config-*, and makes root the owner."""
    top = str(stdlib).lstrip("/")

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        first = info.name[len(top) + 1 :].split("/", 1)[0]
        if first in SKIPPED_STDLIB or first.startswith("config-"):
            return None
        info.uid = info.gid = 0
        return info

    return keep


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))
