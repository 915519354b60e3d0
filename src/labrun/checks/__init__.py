"""The checker SDK: what a lab's check.py is written against.

A lab grades its tasks with one small Python file, ``check.py``, next to its ``lab.toml``.
Each check is a function decorated with :func:`task`, named after a task id of lab.toml.
It passes by returning, and fails by raising :class:`CheckFailed`::

    from labrun.checks import CheckFailed, task

    @task("upload-report")
    def upload_report(ctx):
        listing = ctx.aws.client("s3").list_objects_v2(Bucket=ctx.outputs["bucket"])
        if "report.json" not in [o["Key"] for o in listing.get("Contents", [])]:
            raise CheckFailed("report.json is not in the bucket", hint="Run `make upload` first.")

    @task("deploy", needs=["upload-report"], timeout=30)
    def deploy(ctx):
        found = [k for k in ("a", "b", "c") if k in ctx.outputs]
        if len(found) < 3:
            raise CheckFailed(f"{len(found)} of 3 keys present", score=len(found) / 3)

labrun runs check.py in a separate process with a timeout per task, so a broken or hanging
check cannot hang or crash labrun. Any exception other than CheckFailed marks the task
"error" (its traceback goes to the session log) and the other tasks still run.

Helpers for what checks often need (labrun.checks.helpers, importable from here):
``wait_until`` (eventual consistency with a deadline), ``http_get`` and ``published_port``
(a container's published port on 127.0.0.1), ``image_size``, ``docker_user``,
``docker_healthcheck``, ``docker_env``, ``container_mounts``, ``container_networks``,
``container_health`` (Docker inspection) and ``paginate`` (every page of a boto3 listing).
docs/checks.md shows them at work.

Importing this module is cheap: the helpers load on first use, and boto3 and the Docker
SDK only when a check first asks for ``ctx.aws`` clients or ``ctx.docker``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from labrun.checks.helpers import (
        HttpResponse,
        container_health,
        container_mounts,
        container_networks,
        docker_env,
        docker_healthcheck,
        docker_user,
        http_get,
        image_size,
        paginate,
        published_port,
        wait_until,
    )

__all__ = [
    "Aws",
    "Check",
    "CheckFailed",
    "Context",
    "HttpResponse",
    "container_health",
    "container_mounts",
    "container_networks",
    "docker_env",
    "docker_healthcheck",
    "docker_user",
    "http_get",
    "image_size",
    "paginate",
    "published_port",
    "registered",
    "task",
    "wait_until",
]
_CORE = {"Aws", "Check", "CheckFailed", "Context", "registered", "task"}

CheckFunction = Callable[["Context"], object]
F = TypeVar("F", bound=CheckFunction)


class CheckFailed(Exception):
    """Raise in a check to fail its task, with a message the learner sees.

    Args:
        message: what is wrong, in one sentence ("report.json is not in the bucket").
        hint: what to try next; without it, the task's static ``hint`` from lab.toml is shown.
        score: partial credit, a number from 0 to 1: the task earns ``points * score``.
            0 (the default) is a plain "fail", between 0 and 1 is "partial", and 1 awards
            full points ("pass", keeping the message). Outside [0, 1] raises ValueError,
            which makes the task "error": a wrong score is a bug in check.py, not a
            reason to quietly round.

    Example::

        raise CheckFailed("2 of 3 keys present", score=2 / 3, hint="Upload c.json too.")
    """

    def __init__(self, message: str, *, hint: str | None = None, score: float = 0.0) -> None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise TypeError(f"CheckFailed score must be a number from 0 to 1, not {score!r}")
        if math.isnan(score) or not 0 <= score <= 1:
            raise ValueError(f"CheckFailed score must be from 0 to 1, not {score!r}")
        super().__init__(message)
        self.message = str(message)
        self.hint = hint
        self.score = float(score)


@dataclass(frozen=True)
class Check:
    """One registered check: the function :func:`task` recorded for a task id."""

    id: str
    function: CheckFunction
    needs: tuple[str, ...] = ()
    timeout: float | None = None


_REGISTRY: dict[str, Check] = {}


def task(
    task_id: str, *, needs: Iterable[str] = (), timeout: float | None = None
) -> Callable[[F], F]:
    """Register the decorated function as the check of task ``task_id`` of lab.toml.

    Args:
        task_id: the id of a ``[[tasks]]`` entry in lab.toml.
        needs: ids of tasks that must pass first; if one does not, this task is
            "blocked" (not run, earns nothing) instead of failing on a missing prerequisite.
        timeout: seconds this check may run. The task's ``timeout`` in lab.toml wins over
            it; without either, the lab's ``check_timeout`` (60 s by default) applies.

    The function receives a :class:`Context` and is returned unchanged, so it can still be
    called directly, e.g. from the lab's own tests. Registering one id twice is an error.

    Example::

        @task("deploy", needs=["build"], timeout=120)
        def deploy(ctx):
            ...
    """
    if not isinstance(task_id, str):
        raise TypeError('use @task("task-id") with the id of a task of lab.toml')
    if isinstance(needs, str):
        raise TypeError(f"@task({task_id!r}): needs must be a list of task ids, not a string")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"@task({task_id!r}): timeout must be a positive number of seconds")
    needed = tuple(needs)

    def register(function: F) -> F:
        if task_id in _REGISTRY:
            first = _REGISTRY[task_id].function
            raise ValueError(
                f"task {task_id!r} has two check functions: "
                f"{first.__qualname__} and {function.__qualname__}"
            )
        _REGISTRY[task_id] = Check(task_id, function, needed, timeout)
        return function

    return register


def registered() -> dict[str, Check]:
    """The checks registered so far, by task id (a copy)."""
    return dict(_REGISTRY)


class Aws:
    """Builds boto3 clients bound to the session's cloud (``ctx.aws``).

    The endpoint, credentials and region come from the session env: ``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` and
    ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``). Whatever is absent falls back to boto3's
    usual lookup, so the same check works against the local cloud and real AWS.

    Example::

        s3 = ctx.aws.client("s3")
        table = ctx.aws.resource("dynamodb").Table("results")
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._session: Any = None

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service``; keyword arguments override the session's."""
        return self._boto3_session().client(service, **self._defaults(kwargs))

    def resource(self, service: str, **kwargs: Any) -> Any:
        """A boto3 resource for ``service``; keyword arguments override the session's."""
        return self._boto3_session().resource(service, **self._defaults(kwargs))

    def _defaults(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._env.get("AWS_ENDPOINT_URL")
        return {"endpoint_url": endpoint, **kwargs} if endpoint else kwargs

    def _boto3_session(self) -> Any:
        if self._session is None:
            import boto3

            env = self._env
            self._session = boto3.session.Session(
                aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=env.get("AWS_SESSION_TOKEN"),
                region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            )
        return self._session


@dataclass
class Context:
    """What a check gets to look at: the session, its outputs, and clients for its cloud.

    Attributes:
        session: the session id.
        lab: the lab id.
        outputs: the provisioner's outputs, name -> value (e.g. ``ctx.outputs["bucket"]``).
        workspace: the learner's working folder for this session (also the current directory).
        tags: the AWS tags labrun puts on the session's resources.
        labels: the Docker labels labrun puts on the session's containers.
        env: the session environment (endpoint, credentials, region, DOCKER_HOST...).
        aws: builds boto3 clients bound to the session's cloud, see :class:`Aws`.

    A check can be called directly with a hand-made context, e.g. in the lab's own tests::

        upload_report(Context(session="s1", lab="demo", workspace=Path("."), outputs={...}))
    """

    session: str
    lab: str
    workspace: Path
    outputs: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    aws: Aws = field(init=False, repr=False)
    _docker: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.aws = Aws(self.env)

    @property
    def docker(self) -> Any:
        """A ``docker.DockerClient`` for the session's engine (``DOCKER_HOST``, else the default).

        Example::

            names = [c.name for c in ctx.docker.containers.list(filters={"label": "app=web"})]
        """
        if self._docker is None:
            import docker

            host = self.env.get("DOCKER_HOST")
            self._docker = docker.DockerClient(base_url=host) if host else docker.from_env()
        return self._docker


def __getattr__(name: str) -> Any:
    """The helpers, imported on first use (PEP 562) so that ``import labrun.checks`` stays
    cheap and labrun.checks.helpers can import CheckFailed from here."""
    if name in __all__ and name not in _CORE:
        from labrun.checks import helpers

        return getattr(helpers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
