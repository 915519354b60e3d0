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
