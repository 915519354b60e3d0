"""Checks of the docker-basics lab: an image built right, and a container run right.

Everything is read from the Docker engine (the image's and the container's inspection)
and from the running app itself, through the port it publishes on 127.0.0.1:

- ``build``, ``labels``, ``non-root``, ``size``: the image ``labrun/model-server:SESSION``,
  its labels, its user and its size;
- ``run``, ``network``, ``port``, ``volume``, ``config``, ``healthcheck``: the container
  ``model-server-SESSION`` and how it was started (what ``docker run`` asked for);
- ``predict``: a prediction over HTTP, compared with the lab's model.

Names come from the lab's Terraform outputs (the same values as the workspace's lab.env),
with the lab's defaults when an output is missing. Grading never changes anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from labrun.checks import (
    CheckFailed,
    container_health,
    container_mounts,
    container_networks,
    docker_env,
    docker_healthcheck,
    docker_user,
    http_get,
    image_size,
    published_port,
    task,
    wait_until,
)

LAB_DIR = Path(__file__).resolve().parent
MODEL_FILE = LAB_DIR / "files" / "model" / "model.json"
APP_PORT = "8000/tcp"
MOUNT_PATH = "/models"
DEFAULT_MODEL_NAME = "house-price"
DEFAULT_MAX_MB = 250
SAMPLE = {"rooms": 3, "area_m2": 72, "age_years": 15}
ROOT_USERS = {"", "root", "0"}
OWNERSHIP_LABELS = ("labrun.session", "labrun.owner")  # what `labrun stop` looks for
EVERY_INTERFACE = {"", "0.0.0.0", "::"}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
HEALTH_WAIT = 30.0  # seconds a "starting" container gets to report healthy
RUN_HINT = (
    'docker run -d --name "$CONTAINER" --network "$NETWORK" -p 127.0.0.1:8000:8000 '
    '-v "$VOLUME:/models:ro" -e MODEL_NAME={model} $LABELS "$IMAGE"'
)


# --- names and lookups -------------------------------------------------------------------------


def names(ctx) -> dict[str, str]:
    """The names this session uses: the Terraform outputs, else the lab's defaults."""
    session = ctx.session
    defaults = {
        "image": f"labrun/model-server:{session}",
        "container": f"model-server-{session}",
        "network": f"labrun-{session}",
        "volume": f"labrun-models-{session}",
        "model_name": DEFAULT_MODEL_NAME,
    }
    return {key: str(ctx.outputs.get(key) or value) for key, value in defaults.items()}


def run_hint(ctx) -> str:
    return "Run it as in step 4: " + RUN_HINT.format(model=names(ctx)["model_name"])


def find_image(ctx):
    from docker.errors import ImageNotFound

    try:
        return ctx.docker.images.get(names(ctx)["image"])
    except ImageNotFound:
        return None


def the_image(ctx):
    image = find_image(ctx)
    if image is None:
        raise CheckFailed(f"the image {names(ctx)['image']} is gone", hint="Build it again.")
    return image


def the_container(ctx):
    from docker.errors import NotFound

    name = names(ctx)["container"]
    try:
        return ctx.docker.containers.get(name)
    except NotFound:
        raise CheckFailed(f"the container {name} is gone", hint=run_hint(ctx)) from None


def describe_size(size: float) -> str:
    return f"{size / 1e9:.2f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


# --- the image ---------------------------------------------------------------------------------


@task("build")
def build(ctx):
    """The image exists under the tag the README gives."""
    if find_image(ctx) is None:
        wanted = names(ctx)["image"]
        raise CheckFailed(f"there is no image {wanted} yet", hint=_missing_image_hint(ctx))


@task("labels", needs=["build"])
def labels(ctx):
    """The image carries the session's labels, so that `labrun stop` removes it."""
    wanted = names(ctx)["image"]
    found = the_image(ctx).labels or {}
    missing = [key for key in OWNERSHIP_LABELS if found.get(key) != ctx.labels.get(key)]
    if missing:
        raise CheckFailed(
            f"{wanted} does not carry the lab's labels ({', '.join(missing)} missing), so "
            "`labrun stop` cannot know it is yours and would leave it on your disk",
            hint="Build it again with the labels: `. ./lab.env` then "
            '`docker build $LABELS -t "$IMAGE" .`',
        )


def _missing_image_hint(ctx) -> str:
    """Where the learner's image went: another tag, or not built at all."""
    wanted = names(ctx)["image"]
    ours = ctx.docker.images.list(filters={"label": f"labrun.session={ctx.session}"})
    tagged = [t for image in ours for t in image.tags]
    if not tagged:
        tagged = [
            t
            for image in ctx.docker.images.list()
            for t in image.tags
            if "model-server" in t and t != wanted
        ]
    if tagged:
        return (
            f"You built {tagged[0]}: give it the lab's tag with `docker tag {tagged[0]} {wanted}`."
        )
    if not (Path(ctx.workspace) / "Dockerfile").is_file():
        return "Write a Dockerfile in your workspace first (step 1), then build it (step 2)."
    return f'In your workspace: `. ./lab.env` then `docker build $LABELS -t "{wanted}" .`'


@task("non-root", needs=["build"])
def non_root(ctx):
    """The image (and the container, if it runs) does not run as root."""
    user = docker_user(the_image(ctx))
    if user.split(":")[0] in ROOT_USERS:
        shown = f"USER {user}" if user else "no USER instruction"
        raise CheckFailed(
            f"the image runs its app as root ({shown})",
            hint="Add `USER 10001:10001` to the Dockerfile after the COPY lines (or create a "
            "user: `RUN useradd --uid 10001 --no-create-home app` then `USER app`), and rebuild.",
        )
    container = _running_container(ctx)
    if container is not None and docker_user(container).split(":")[0] in ROOT_USERS - {""}:
        raise CheckFailed(
            f"the image is fine, but the container runs as {docker_user(container)}: "
            "`docker run --user` overrode it",
            hint="Start the container again without --user.",
        )


def _running_container(ctx):
    from docker.errors import NotFound

    try:
        return ctx.docker.containers.get(names(ctx)["container"])
    except NotFound:
        return None


@task("size", needs=["build"])
def size(ctx):
    """The image stays under the size limit."""
    limit_mb = float(ctx.outputs.get("max_image_mb") or DEFAULT_MAX_MB)
    actual = image_size(the_image(ctx))
    if actual > limit_mb * 1e6:
        raise CheckFailed(
            f"the image is {describe_size(actual)}, over the {limit_mb:g} MB limit",
            hint="Start FROM a slim Python image (python:3.12-slim, not python:3.12), copy "
            "only app/ (`COPY app/ /app/`, or a .dockerignore), and install nothing you "
            "do not need.",
        )


# --- the container -----------------------------------------------------------------------------


@task("run", needs=["build"])
def run(ctx):
    """The container runs, under the lab's name, from the lab's image as built now."""
    from docker.errors import NotFound

    wanted = names(ctx)
    try:
        container = ctx.docker.containers.get(wanted["container"])
    except NotFound:
        others = ctx.docker.containers.list(all=True, filters={"ancestor": wanted["image"]})
        if others:
            raise CheckFailed(
                f"a container of {wanted['image']} exists, but it is called "
                f"{others[0].name}, not {wanted['container']}",
                hint=f"Rename it: `docker rename {others[0].name} {wanted['container']}`.",
            ) from None
        raise CheckFailed(f"no container {wanted['container']} yet", hint=run_hint(ctx)) from None
    if container.status != "running":
        state = container.attrs.get("State") or {}
        logs = container.logs(tail=3).decode(errors="replace").strip().replace("\n", " | ")
        raise CheckFailed(
            f"{wanted['container']} is {container.status} (exit code {state.get('ExitCode')})"
            + (f"; its last output: {logs}" if logs else ""),
            hint=f"See why with `docker logs {wanted['container']}`, fix it, then "
            f"`docker rm {wanted['container']}` and run it again.",
        )
    if container.attrs.get("Image") != the_image(ctx).id:
        raise CheckFailed(
            f"{wanted['container']} runs an older build of {wanted['image']} (you rebuilt "
            "the image after starting it)",
            hint=f"Replace it: `docker rm -f {wanted['container']}`, then run it again.",
        )


@task("network", needs=["run"])
def network(ctx):
    """The container is attached to the lab's network."""
    wanted = names(ctx)
    attached = container_networks(the_container(ctx))
    if wanted["network"] not in attached:
        raise CheckFailed(
            f"{wanted['container']} is on {', '.join(attached) or 'no network'}, "
            f"not on the lab's network {wanted['network']}",
            hint=f"Connect it: `docker network connect {wanted['network']} "
            f"{wanted['container']}` (next time: `docker run --network {wanted['network']} ...`).",
        )


@task("port", needs=["run"])
def port(ctx):
    """Port 8000 is published on 127.0.0.1 only, and the app answers there."""
    container = the_container(ctx)
    container.reload()
    asked = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
    actual = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    bindings = asked.get(APP_PORT) or []
    if not bindings and not actual.get(APP_PORT):
        other = sorted(k for k, v in asked.items() if v)
        raise CheckFailed(
            f"port 8000 of {container.name} is not published"
            + (f" (you published {', '.join(other)}: the app listens on 8000)" if other else ""),
            hint="Publish it on the loopback address only: `-p 127.0.0.1:8000:8000`.",
        )
    exposed = [b for b in bindings if (b.get("HostIp") or "") in EVERY_INTERFACE]
    exposed += [b for b in actual.get(APP_PORT) or [] if (b.get("HostIp") or "") not in LOOPBACK]
    if exposed:
        where = exposed[0].get("HostIp") or "0.0.0.0"
        raise CheckFailed(
            f"port 8000 is published on every network interface ({where}): anyone who "
            "can reach your machine can call your model",
            hint="Publish it on 127.0.0.1 only: `docker rm -f` the container and run it again "
            "with `-p 127.0.0.1:8000:8000` (not `-p 8000:8000`).",
        )
    host_port = published_port(container, APP_PORT)
    answer = wait_until(
        lambda: http_get(container, APP_PORT, path="/health"),
        timeout=10,
        hint="Is the app listening on 0.0.0.0 inside the container? See `docker logs`.",
    )
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailed(
            f"GET http://127.0.0.1:{host_port}/health answered {answer.status}: "
            f"{answer.text[:120]}",
            hint=f"See `docker logs {container.name}`.",
        )


@task("volume", needs=["run"])
def volume(ctx):
    """The lab's volume is mounted read-only at /models."""
    wanted = names(ctx)
    mounts = container_mounts(the_container(ctx))
    ours = [m for m in mounts if m.get("Type") == "volume" and m.get("Name") == wanted["volume"]]
    ro_hint = f'Mount it read-only: `-v "{wanted["volume"]}:/models:ro"`.'
    if not ours:
        at_models = [m for m in mounts if m.get("Destination") == MOUNT_PATH]
        if at_models and at_models[0].get("Type") == "bind":
            problem = f"a folder of your machine ({at_models[0].get('Source')}) is mounted at "
            problem += f"/models, not the lab's volume {wanted['volume']}"
        elif at_models:
            problem = f"the volume {at_models[0].get('Name')} is mounted at /models, not "
            problem += f"the lab's volume {wanted['volume']}"
        else:
            problem = f"the lab's volume {wanted['volume']} is not mounted"
        raise CheckFailed(problem, hint=f"Run the container again with it. {ro_hint}")
    mount = ours[0]
    if mount.get("Destination") != MOUNT_PATH:
        raise CheckFailed(
            f"{wanted['volume']} is mounted at {mount.get('Destination')}, but the app reads "
            f"its model from {MOUNT_PATH}/model.json",
            hint=ro_hint,
        )
    if mount.get("RW"):
        raise CheckFailed(
            f"{wanted['volume']} is mounted read-write: the app could change or delete the model",
            hint=f"Run the container again with `:ro` at the end of the mount. {ro_hint}",
        )


@task("config", needs=["run"])
def config(ctx):
    """MODEL_NAME is set to the value the README gives."""
    expected = names(ctx)["model_name"]
    value = docker_env(the_container(ctx)).get("MODEL_NAME")
    hint = f"Set it when you run the container: `-e MODEL_NAME={expected}`."
    if value is None:
        raise CheckFailed("MODEL_NAME is not set: the app calls itself 'unnamed-model'", hint=hint)
    if value != expected:
        raise CheckFailed(f"MODEL_NAME is {value!r}, not {expected!r}", hint=hint)


@task("healthcheck", needs=["run"])
def healthcheck(ctx):
    """The image has a HEALTHCHECK and the running container reports healthy."""
    name = names(ctx)["container"]
    if docker_healthcheck(the_image(ctx)) is None:
        raise CheckFailed(
            "the image has no HEALTHCHECK: Docker cannot tell a stuck app from a working one",
            hint='Add `HEALTHCHECK --interval=5s CMD ["python", "/app/healthcheck.py"]` to '
            "the Dockerfile, rebuild, and run the container again.",
        )
    container = the_container(ctx)
    if docker_healthcheck(container) is None:
        raise CheckFailed(
            f"{name} was started with its health check turned off (--no-healthcheck)",
            hint="Run it again without --no-healthcheck.",
        )
    health = wait_until(
        lambda: _settled_health(container),
        timeout=HEALTH_WAIT,
        message=f"{name} still reports 'starting' after {HEALTH_WAIT:g} s",
        hint="The first check runs one --interval after the start: lower it "
        "(HEALTHCHECK --interval=5s) or check again in a moment.",
    )
    if health != "healthy":
        log = ((container.attrs.get("State") or {}).get("Health") or {}).get("Log") or []
        output = " ".join(str(log[-1].get("Output", "")).split())[:160] if log else ""
        raise CheckFailed(
            f"{name} is {health}" + (f": {output}" if output else ""),
            hint="Run the health check yourself: `docker exec "
            f"{name} python /app/healthcheck.py`. Does it call the right port (8000)?",
        )


def _settled_health(container) -> str | None:
    """The container's health once it is no longer "starting", else None (not yet)."""
    health = container_health(container)
    return None if health in (None, "starting") else health


# --- the service -------------------------------------------------------------------------------


@task("predict", needs=["port", "volume"])
def predict(ctx):
    """GET /predict answers the lab model's prediction for a sample flat."""
    model = json.loads(MODEL_FILE.read_text())
    expected = round(
        model["intercept"] + sum(w * SAMPLE[k] for k, w in model["weights"].items()), 2
    )
    container = the_container(ctx)
    answer = http_get(container, APP_PORT, path=f"/predict?{urlencode(SAMPLE)}")
    if answer.status == 503:
        raise CheckFailed(
            f"the app has no model: {answer.json().get('error', answer.text[:120])}",
            hint="Copy the model into the volume (step 3): `docker run --rm --user root "
            '-v "$VOLUME:/models" -v "$PWD/model:/src:ro" "$IMAGE" cp /src/model.json '
            "/models/model.json`",
        )
    body = answer.json() if answer.status == 200 else {}
    if answer.status != 200 or not isinstance(body, dict):
        raise CheckFailed(f"GET /predict answered {answer.status}: {answer.text[:120]}")
    if body.get("model_version") != model["version"]:
        raise CheckFailed(
            f"the app serves model version {body.get('model_version')!r}, not the lab's "
            f"{model['version']!r}",
            hint="Copy workspace/model/model.json into the volume again (step 3).",
        )
    if body.get("prediction") != expected:
        raise CheckFailed(
            f"the app predicted {body.get('prediction')!r} for {SAMPLE}, expected {expected}",
            hint="Did you change app/server.py? Start from the lab's version.",
        )
