"""Nothing foreign is touched: a teardown removes only what the session provably made.

Real components: the `labrun` command line, the embedded Terraform and the Docker engine.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound

from testing.cli import labrun_json
from testing.docker_images import ensure_busybox_image


@pytest.mark.docker
def test_stop_detaches_a_container_that_was_there_before_and_removes_the_learners(
    test_labs: Path, docker_client: Any
) -> None:
    image = ensure_busybox_image(docker_client)
    older = docker_client.containers.run(
        image, "sleep 600", detach=True, name=f"lrt-older-{uuid.uuid4().hex[:8]}"
    )
    try:
        time.sleep(1.2)  # Docker lists creation times to the second
        started = labrun_json("start", "docker-hello", "--labs-dir", str(test_labs))
        network = docker_client.networks.get(started["outputs"]["network"])
        network.connect(older)  # someone's container joins the lab's network
        learner = docker_client.containers.run(
            image, "sleep 600", detach=True, network=network.name,
            name=f"web-{started['session']}",
        )  # fmt: skip

        receipt = labrun_json("stop", started["session"])

        assert receipt["ok"] is True, receipt
        swept = {
            (item["kind"], item["id"].split("/")[0]): item["reason"] for item in receipt["swept"]
        }
        assert swept[("docker:container", learner.id)] == f"inside docker:network {network.name}"
        detached = f"not removed, only detached from docker:network {network.name}"
        assert swept[("docker:attachment", older.id)] == f"existed before the session: {detached}"
        older.reload()
        assert older.status == "running"
        assert list(older.attrs["NetworkSettings"]["Networks"]) == ["bridge"]
        with pytest.raises(NotFound):
            docker_client.containers.get(learner.id)
        with pytest.raises(NotFound):
            docker_client.networks.get(network.id)
    finally:
        with contextlib.suppress(NotFound):
            older.remove(force=True)
