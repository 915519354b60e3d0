"""The busybox test image: built without a registry, cached, and able to serve HTTP."""

from __future__ import annotations

import io
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from testing.docker_images import BUSYBOX_TAG, ensure_busybox_image

# Provides the docker_client fixture even before tests/conftest.py imports it.
pytestmark = pytest.mark.docker


@pytest.fixture
def image(docker_client: Any) -> str:
    return ensure_busybox_image(docker_client)


@pytest.fixture
def containers(docker_client: Any) -> Iterator[list[Any]]:
    """Collects the containers a test creates and removes them all afterwards."""
    created: list[Any] = []
    yield created
    for container in created:
        container.remove(force=True)


def test_builds_labelled_image_once(docker_client: Any) -> None:
    tag = f"labrun-test/busybox:build-{uuid.uuid4().hex[:8]}"  # fresh: always exercises the import
    try:
        assert ensure_busybox_image(docker_client, tag) == tag
        built = docker_client.images.get(tag)
        assert built.attrs["Config"]["Labels"] == {"labrun.test": "1"}
        assert built.attrs["Config"]["Cmd"] == ["sh"]
        assert ensure_busybox_image(docker_client, tag) == tag
        assert docker_client.images.get(tag).id == built.id  # cached, not imported again
    finally:
        docker_client.images.remove(tag, force=True)


def test_default_tag(image: str) -> None:
    assert image == BUSYBOX_TAG


def test_applets_run(docker_client: Any, image: str, containers: list[Any]) -> None:
    container = docker_client.containers.create(image, ["sh", "-c", "mkdir /tmp/x && id -u"])
    containers.append(container)
    container.start()
    assert container.wait(timeout=30)["StatusCode"] == 0
    assert container.logs().strip() == b"0"


def test_httpd_serves_a_file_on_loopback(
    docker_client: Any,
    image: str,
    containers: list[Any],
) -> None:
    container = docker_client.containers.create(
        image,
        ["httpd", "-f", "-p", "8000", "-h", "/www"],
        ports={"8000/tcp": ("127.0.0.1", None)},
    )
    containers.append(container)
    assert container.put_archive("/www", _tar_with("index.html", b"hello from busybox\n"))
    container.start()
    container.reload()
    binding = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1"
    url = f"http://127.0.0.1:{binding['HostPort']}/index.html"
    assert _get_when_up(url) == b"hello from busybox\n"


def _tar_with(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _get_when_up(url: str, deadline: float = 15.0) -> bytes:
    """GET `url`, retrying while the server is still starting."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body: bytes = response.read()
                return body
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > give_up:
                raise
            time.sleep(0.2)
