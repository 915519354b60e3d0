"""Tiny Docker images for tests, built locally because no registry is reachable.

The engine starts with no images and `docker pull` cannot work here, so tests build what they
need from files already on the machine: Debian's statically linked busybox (`busybox-static`)
is enough to stand in for a shell, a web server (`httpd`) and an HTTP client (`wget`).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound

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
IMAGE_CHANGES = ('CMD ["sh"]', "LABEL labrun.test=1")


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
