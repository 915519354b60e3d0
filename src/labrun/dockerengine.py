"""The local Docker engine (DOCKER_HOST is honoured, as by the docker CLI)."""

from __future__ import annotations

from typing import Any

from labrun.errors import LabrunError


def client(timeout: int = 10, host: str | None = None) -> Any:
    """A Docker SDK client of `host` (default: DOCKER_HOST, else the default socket), or
    None when no engine answers."""
    import docker
    from docker.errors import DockerException

    try:
        if host:
            engine = docker.DockerClient(base_url=host, timeout=timeout)
        else:
            engine = docker.from_env(timeout=timeout)
        engine.ping()
    except (DockerException, OSError):
        return None
    return engine


def require_engine() -> None:
    """Fail before anything is provisioned when a lab needs Docker and none answers."""
    if client(timeout=5) is None:
        raise LabrunError(
            "this lab needs Docker, but no Docker engine answers "
            "(start one, e.g. `sudo dockerd &`, or set DOCKER_HOST)"
        )
