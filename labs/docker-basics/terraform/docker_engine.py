"""The Docker objects of docker-basics, for the module's local-exec provisioners.

Run by labrun's own Python ($LABRUN_PYTHON), which has the Docker SDK; the engine is the
one of DOCKER_HOST, else the local socket, as for the docker CLI. Every value comes from the
environment (the provisioners' `environment`), never from the command line:

    base-image      IMAGE present, else pulled; else one line naming TF_VAR_base_image
    network create  NAME with LABELS (JSON) and OPTIONS (JSON driver options), bridge driver
    network remove  NAME, if it is still there
    volume create   NAME with LABELS (JSON)
    volume remove   NAME, if it is still there

Creating what already exists under the name keeps it (a retried apply); removing what is
already gone succeeds (an idempotent destroy). Removing a network or a volume that a
container still uses fails: labrun's teardown then removes the session's containers and
destroys again. Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import suppress
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound, NotFound


def base_image(engine: Any) -> None:
    image = os.environ["IMAGE"]
    try:
        engine.images.get(image)
        return
    except ImageNotFound:
        pass
    try:
        engine.images.pull(image)
    except DockerException as exc:
        reason = _short(exc).rsplit(": ", 1)[-1]  # the cause, e.g. "no such host"
        raise SystemExit(
            f"the base image {image} is not in the Docker engine and cannot be pulled "
            f"({reason}): load a Python image there (`docker load`) and name it with "
            "TF_VAR_base_image=IMAGE labrun start docker-basics"
        ) from None


def create_network(engine: Any) -> None:
    name = os.environ["NAME"]
    if engine.networks.list(names=[name]):
        return
    engine.networks.create(
        name, driver="bridge", labels=_json("LABELS"), options=_json("OPTIONS"),
        check_duplicate=True,
    )  # fmt: skip


def remove_network(engine: Any) -> None:
    for network in engine.networks.list(names=[os.environ["NAME"]]):
        with suppress(NotFound):
            network.remove()


def create_volume(engine: Any) -> None:
    engine.volumes.create(os.environ["NAME"], labels=_json("LABELS"))


def remove_volume(engine: Any) -> None:
    with suppress(NotFound):
        engine.volumes.get(os.environ["NAME"]).remove()


ACTIONS = {
    ("base-image",): base_image,
    ("network", "create"): create_network,
    ("network", "remove"): remove_network,
    ("volume", "create"): create_volume,
    ("volume", "remove"): remove_volume,
}


def _json(variable: str) -> dict[str, str]:
    return dict(json.loads(os.environ.get(variable) or "{}"))


def _short(exc: DockerException) -> str:
    explanation = getattr(exc, "explanation", None) or str(exc)
    return " ".join(str(explanation).split())


def main(argv: list[str]) -> int:
    action = ACTIONS.get(tuple(argv))
    if action is None:
        usage = " | ".join(" ".join(words) for words in ACTIONS)
        print(f"usage: docker_engine.py {usage}", file=sys.stderr)
        return 2
    try:
        engine = docker.from_env()
        action(engine)
    except SystemExit as exc:
        print(exc.code, file=sys.stderr)
        return 1
    except DockerException as exc:
        print(f"docker: {_short(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
