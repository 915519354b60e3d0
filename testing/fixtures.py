"""pytest fixtures shared by labrun's tests.

Load them with `from testing.fixtures import docker_client` in a conftest.py (or a test
module), or with `pytest -p testing.fixtures`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from testing.docker_images import docker_available
from testing.strict_aws import StrictAws

NO_ENGINE = "no Docker engine answers (start dockerd: see .ci/run)"


def docker_client_fixture() -> Iterator[Any]:
    """Yield a `docker.DockerClient`; skip when no engine answers, or fail under CI.

    CI (the CI variable is set) installs and starts an engine, so a missing one there is a
    broken machine, not a reason to skip half the suite silently.
    """
    if not docker_available():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI is set but {NO_ENGINE}", pytrace=False)
        pytest.skip(NO_ENGINE)
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


docker_client = pytest.fixture(scope="session", name="docker_client")(docker_client_fixture)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in this process, on a loopback port the OS picks: its endpoint."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def strict_aws(moto_server: str) -> Iterator[StrictAws]:
    """A `StrictAws` proxy (testing.strict_aws) in front of a freshly reset moto server.

    Point the code under test at `strict_aws.env` (AWS_ENDPOINT_URL and test credentials),
    seed with `strict_aws.moto(service)` (no rule applies) or `strict_aws.client(service)`
    (through the proxy), then set the rules: `.deny("iam:ListRoles")`, `.throttle("sqs")`,
    `.ghosts(seconds=30)`...
    """
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    with StrictAws(moto_server) as strict:
        yield strict
