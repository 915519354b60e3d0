"""Helpers that keep checks short and honest (re-exported by :mod:`labrun.checks`).

- :func:`wait_until`: retry a condition until a deadline, for eventual consistency;
- :func:`http_get` and :func:`published_port`: talk to a container through the port it
  publishes on 127.0.0.1;
- :func:`image_size`, :func:`docker_user`, :func:`docker_healthcheck`, :func:`docker_env`,
  :func:`container_mounts`, :func:`container_networks`, :func:`container_health`: what
  Docker's inspection says about an image or a container;
- :func:`paginate`: every item of a paginated boto3 listing, not just the first page.

Every failure a learner can cause (a port not published, a server that does not answer,
a condition never met) raises :class:`~labrun.checks.CheckFailed` with a readable message,
so the task is graded "fail" and not "error". Only the standard library is imported here;
urllib is imported when a check first makes a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from labrun.checks import CheckFailed

__all__ = [
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
    "wait_until",
]

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
_ANY_HOST = ("", "0.0.0.0", "127.0.0.1", "::", "::1")  # bindings reachable on loopback


# --- eventual consistency ------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 1.0,
    message: str | None = None,
    *,
    hint: str | None = None,
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    For things that become true a little after the learner's command returned: a
    container's health, an object in a bucket, a service behind a port. A ``CheckFailed``
    raised by ``predicate`` counts as "not yet"; any other exception is a bug in the check
    and goes through at once.

    Args:
        predicate: takes no argument; truthy means done.
        timeout: seconds to keep trying. Keep it under the task's own timeout (60 s by
            default), or the runner kills the check first and the task is an "error".
        interval: seconds between two calls.
        message: the ``CheckFailed`` message at the deadline. Without it: the last
            ``CheckFailed`` the predicate raised, else "still not true after N s".
        hint: the hint of that ``CheckFailed``.

    Example::

        web = ctx.docker.containers.get("web")
        wait_until(lambda: container_health(web) == "healthy", timeout=20, message="web is sick")
    """
    deadline = time.monotonic() + timeout
    last: CheckFailed | None = None
    while True:
        try:
            value = predicate()
        except CheckFailed as failed:
            last, value = failed, None
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    if message is None:
        message = last.message if last else f"still not true after {timeout:g} s"
    raise CheckFailed(message, hint=hint if hint is not None else (last.hint if last else None))


# --- HTTP against a container's published port ---------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    """What :func:`http_get` got back: any status, 404 and 500 included."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``CheckFailed`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"GET {self.url} did not answer JSON: {self.text[:80]!r}") from None


def published_port(container: Any, port: int | str, protocol: str = "tcp") -> int:
    """The host port on which ``container`` publishes its ``port`` (reachable on 127.0.0.1).

    ``container`` is a ``docker.models.containers.Container`` (e.g.
    ``ctx.docker.containers.get("web")``); its state is reloaded first. ``CheckFailed``
    when the port is not published on the host.

    Example::

        port = published_port(ctx.docker.containers.get("web"), 8000)  # e.g. 49153
    """
    key = str(port) if "/" in str(port) else f"{port}/{protocol}"
    container.reload()
    bindings = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for binding in bindings.get(key) or []:
        if binding.get("HostIp", "") in _ANY_HOST and binding.get("HostPort"):
            return int(binding["HostPort"])
    raise CheckFailed(
        f"container {container.name} does not publish port {key} on the host",
        hint=f"Run it with -p 127.0.0.1::{key.split('/')[0]} (docker run) or a ports mapping.",
    )


def http_get(
    target: str | Any,
    port: int | str | None = None,
    *,
    path: str = "/",
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """GET a URL, or ``path`` on a container's published ``port`` through 127.0.0.1.

    Args:
        target: a URL (``"http://127.0.0.1:8080/health"``), or a Docker SDK container
            together with ``port``, the container's port (``8000`` or ``"8000/tcp"``).
        port: the container port; only with a container.
        path: the path requested on a container (default ``/``).
        timeout: seconds for the connection and the answer.
        headers: extra request headers.

    Returns an :class:`HttpResponse` for every HTTP status (404 and 500 too: the check
    decides). Raises ``CheckFailed`` when nothing answers (refused, timed out, port not
    published), which :func:`wait_until` retries.

    Example::

        web = ctx.docker.containers.get(f"web-{ctx.session}")
        wait_until(
            lambda: http_get(web, 8000, path="/health").status == 200,
            timeout=20,
            message="web does not answer 200 on /health",
        )
    """
    if isinstance(target, str):
        if port is not None:
            raise TypeError("http_get: give a URL, or a container and its port, not a URL and port")
        url = target
    else:
        if port is None:
            raise TypeError("http_get: a container needs the port it listens on")
        url = f"http://{LOOPBACK}:{published_port(target, port)}/{path.lstrip('/')}"
    return _get(url, timeout, headers or {})


def _get(url: str, timeout: float, headers: dict[str, str]) -> HttpResponse:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)
    # Loopback is never reached through a proxy, whatever HTTP_PROXY says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return HttpResponse(url, answer.status, answer.read(), dict(answer.headers.items()))
    except urllib.error.HTTPError as answer:
        return HttpResponse(url, answer.code, answer.read(), dict(answer.headers.items()))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CheckFailed(f"GET {url}: no answer ({reason})") from None


# --- Docker inspection ---------------------------------------------------------------------


def _attrs(thing: Any) -> dict[str, Any]:
    """Fresh inspection data of a Docker SDK image or container."""
    thing.reload()
    return dict(thing.attrs)


def _config(thing: Any) -> dict[str, Any]:
    return _attrs(thing).get("Config") or {}


def image_size(image: Any) -> int:
    """The image's size in bytes, as ``docker image ls`` counts it.

    Example::

        size = image_size(ctx.docker.images.get("app:1"))
        if size > 200e6:
            raise CheckFailed(f"the image is {size / 1e6:.0f} MB, more than 200 MB")
    """
    return int(_attrs(image).get("Size") or 0)


def docker_user(thing: Any) -> str:
    """The user an image (or a container) runs as; ``""`` means root, as Docker says it.

    Example::

        if docker_user(ctx.docker.images.get("app:1")) in ("", "root", "0"):
            raise CheckFailed("the image runs as root", hint="Add a USER line.")
    """
    return str(_config(thing).get("User") or "")


def docker_healthcheck(thing: Any) -> list[str] | None:
    """The HEALTHCHECK command of an image (or a container), e.g.
    ``["CMD-SHELL", "wget -q -O- localhost:8000/health"]``; None without one."""
    test = (_config(thing).get("Healthcheck") or {}).get("Test")
    return None if not test or test == ["NONE"] else [str(part) for part in test]


def docker_env(thing: Any) -> dict[str, str]:
    """The environment variables of an image (ENV) or a container (ENV plus ``-e``).

    Example::

        if docker_env(ctx.docker.containers.get("web")).get("LOG_LEVEL") != "info":
            raise CheckFailed("web must run with LOG_LEVEL=info")
    """
    pairs = (line.partition("=") for line in _config(thing).get("Env") or [])
    return {name: value for name, _, value in pairs}


def container_mounts(container: Any) -> list[dict[str, Any]]:
    """The container's mounts as Docker inspects them: ``Type`` (volume, bind, tmpfs),
    ``Name`` (volumes), ``Source``, ``Destination``, ``RW``..."""
    return [dict(m) for m in _attrs(container).get("Mounts") or []]


def container_networks(container: Any) -> list[str]:
    """Names of the networks the container is attached to, sorted."""
    attached = (_attrs(container).get("NetworkSettings") or {}).get("Networks") or {}
    return sorted(attached)


def container_health(container: Any) -> str | None:
    """The container's health: "starting", "healthy" or "unhealthy"; None without a
    healthcheck."""
    state = (_attrs(container).get("State") or {}).get("Health") or {}
    status = state.get("Status")
    return str(status) if status else None


# --- AWS -----------------------------------------------------------------------------------


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` of every page of a boto3 listing.

    A first page alone silently misses what a learner made when there are many (S3 returns
    1,000 keys a page, some APIs 50). Operations without a paginator are called once.

    Example::

        s3 = ctx.aws.client("s3")
        keys = [o["Key"] for o in paginate(s3, "list_objects_v2", "Contents", Bucket=bucket)]
    """
    if not client.can_paginate(operation):
        return list(getattr(client, operation)(**kwargs).get(key) or [])
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key) or [])
    return items
