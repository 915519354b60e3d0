"""The docker-basics lab, played like a learner on a real Docker engine.

Every session here is a real one: `labrun start docker-basics` applies the lab's module
(Terraform's builtin terraform_data driving the Docker engine: no registry provider), which
creates the network and the volume with the session's labels and writes lab.env. Then the
tests do the learner's work (the reference solution solve.sh, or the Docker SDK for each
typical mistake), grade it with the lab's check.py through labrun, and stop the session: the
receipt must say that nothing of it remains. `test_lab_test` runs `labrun lab test
docker-basics` itself.

No registry is reachable, so `python:3.12-slim` cannot be pulled: the learner's Dockerfile is
built FROM a Python image made here from this machine's own interpreter (its binary, the
shared libraries it loads and its standard library, plus busybox for a shell):
testing.docker_images.ensure_python_image, cached under PYTHON_TAG. The lab lets an
instructor name such an image (TF_VAR_base_image, BASE_IMAGE in lab.env), which is what these
tests do.

The tests' sessions also set the lab's network to publish ports on 127.0.0.1 even when a
container asks for every interface (TF_VAR_network_options): the learner's mistake (`-p
8000`) is scripted as typed, and nothing is exposed for real.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound, NotFound

from labrun.checker import TaskResult
from labrun.manifest import Manifest, load_manifest
from testing.cli import labrun
from testing.docker_images import TEST_LABEL, ensure_python_image
from testing.labsession import LabSession, by_id, clean_env

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "docker-basics"
SOLUTION_DOCKERFILE = (LAB_DIR / "solution" / "Dockerfile").read_text()
TASKS = [
    "build", "labels", "non-root", "size", "run", "network", "port", "volume", "config",
    "healthcheck", "predict",
]  # fmt: skip
ALL_PASS = dict.fromkeys(TASKS, "pass")
SAFE_NETWORK = {"com.docker.network.bridge.host_binding_ipv4": "127.0.0.1"}


def lab_env(base_image: str) -> dict[str, str]:
    """The environment the tests start docker-basics with (see the module's docstring)."""
    return {
        "TF_VAR_base_image": base_image,
        "TF_VAR_network_options": json.dumps(SAFE_NETWORK),
    }


# --- one session of the lab, started for real ----------------------------------------------


class Lab:
    """One session of docker-basics: its network, volume, workspace, outputs and checker."""

    def __init__(self, client: Any, root: Path, base_image: str) -> None:
        self.client = client
        self.home = root / "home"
        self.base_image = base_image
        self.owner = "test-docker-basics-" + secrets.token_hex(3)
        self.manifest: Manifest = load_manifest(LAB_DIR / "lab.toml")
        self.played: LabSession | None = None

    def provision(self) -> None:
        """`labrun start docker-basics`: the module's apply makes the marked network and
        volume, and lab.env."""
        self.played = LabSession.start(
            "docker-basics", self.home, owner=self.owner, env=lab_env(self.base_image)
        )
        self.session = self.played.id
        self.outputs: dict[str, Any] = self.played.outputs
        self.workspace = self.played.workspace
        self.labels = self.played.session.labels()

    def check(self) -> dict[str, TaskResult]:
        assert self.played is not None
        return by_id(self.played.check())

    @property
    def container_name(self) -> str:
        return str(self.outputs["container"])

    @property
    def image_tag(self) -> str:
        return str(self.outputs["image"])

    # The learner's work, scripted with the Docker SDK.

    def build(self, tag: str, dockerfile: str = "", labelled: bool = True) -> Any:
        """Build a Dockerfile (the solution's, made quick to report healthy, by default)."""
        text = dockerfile or SOLUTION_DOCKERFILE.replace("--interval=5s", "--interval=1s")
        (self.workspace / "Dockerfile").write_text(text)
        image, _ = self.client.images.build(
            path=str(self.workspace), tag=tag, rm=True, forcerm=True,
            buildargs={"BASE_IMAGE": self.outputs["base_image"]},
            labels=self.labels if labelled else {TEST_LABEL: "1"},
        )  # fmt: skip
        return image

    def use(self, image: Any) -> None:
        """Point the lab's tag at `image`, as if the learner had built it so."""
        image.tag(self.image_tag)

    def seed_volume(self) -> None:
        """Step 3: copy the model into the volume."""
        self.client.containers.run(
            self.image_tag, ["cp", "/src/model.json", "/models/model.json"], remove=True,
            user="root", volumes={
                self.outputs["volume"]: {"bind": "/models", "mode": "rw"},
                str(self.workspace / "model"): {"bind": "/src", "mode": "ro"},
            },
        )  # fmt: skip

    def run(self, **changes: Any) -> Any:
        """Step 4 as the README gives it; `changes` are the learner's mistakes."""
        options: dict[str, Any] = {
            "name": self.container_name,
            "network": self.outputs["network"],
            "ports": {"8000/tcp": ("127.0.0.1", None)},
            "volumes": {self.outputs["volume"]: {"bind": "/models", "mode": "ro"}},
            "environment": {"MODEL_NAME": "house-price"},
            "detach": True,
        }
        options.update(changes)
        return self.client.containers.run(self.image_tag, **options)

    def wait_healthy(self, container: Any, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            container.reload()
            if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(0.5)
        raise AssertionError(f"{container.name} never became healthy: {container.logs()!r}")

    def remove_containers(self) -> None:
        # Other tests' containers may vanish while this lists them: ignore_removed.
        for container in self.client.containers.list(all=True, ignore_removed=True):
            networks = container.attrs["NetworkSettings"]["Networks"] or {}
            mounts = [m.get("Name") for m in container.attrs.get("Mounts") or []]
            if (
                container.name.endswith(self.session)
                or self.outputs["network"] in networks
                or self.outputs["volume"] in mounts
            ):
                with suppress(NotFound):
                    container.remove(force=True)

    def teardown(self) -> dict[str, Any]:
        """`labrun stop` (its receipt), then the tests' unlabelled build, which it leaves."""
        receipt: dict[str, Any] = {"ok": True}
        if self.played is not None:
            _, receipt = self.played.stop()
        for name in self.extra_tags():
            with suppress(ImageNotFound):
                self.client.images.remove(name, force=True)
        return receipt

    def extra_tags(self) -> list[str]:
        return [f"labrun-test/docker-basics-{self.session}:{v}" for v in VARIANTS]


VARIANTS = ("good", "root", "no-healthcheck", "big", "unlabelled")


def variant_dockerfile(name: str) -> str:
    quick = SOLUTION_DOCKERFILE.replace("--interval=5s", "--interval=1s")
    if name == "root":
        return quick.replace("USER 10001:10001\n", "")
    if name == "no-healthcheck":
        return re.sub(r"HEALTHCHECK [^\n]*\\\n[^\n]*\n", "", quick)
    if name == "big":  # what `FROM python:3.12` or copying a dataset does to an image
        return quick.replace(
            "WORKDIR /app\n", "WORKDIR /app\nRUN dd if=/dev/zero of=/app/blob bs=1M count=260\n"
        )
    return quick


@pytest.fixture(scope="module")
def lab(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = ensure_python_image(docker_client)
    played = Lab(docker_client, tmp_path_factory.mktemp("docker-basics"), base)
    try:
        played.provision()
        yield played
    finally:
        receipt = played.teardown()
    assert receipt["ok"], receipt  # the learner's container and images included


@pytest.fixture(scope="module")
def images(lab: Lab) -> dict[str, Any]:
    """The learner's builds: the right one and one per image mistake (built once)."""
    built = {}
    for name in VARIANTS:
        tag = f"labrun-test/docker-basics-{lab.session}:{name}"
        built[name] = lab.build(tag, variant_dockerfile(name), labelled=name != "unlabelled")
    lab.use(built["good"])
    lab.seed_volume()
    return built


@pytest.fixture
def learner(lab: Lab, images: dict[str, Any]) -> Iterator[Lab]:
    """The lab with no container running and the right image under the lab's tag."""
    lab.remove_containers()
    lab.use(images["good"])
    yield lab
    lab.remove_containers()


def statuses(results: dict[str, TaskResult]) -> dict[str, str]:
    return {task_id: result.status for task_id, result in results.items()}


def failing(results: dict[str, TaskResult], task_id: str, **others: str) -> dict[str, str]:
    """Every task passing but `task_id` (failing) and `others` (their status)."""
    expected = {**ALL_PASS, task_id: "fail", **others}
    assert statuses(results) == expected, {k: (r.status, r.message) for k, r in results.items()}
    return {"message": results[task_id].message, "hint": results[task_id].hint}


# --- the tests ---------------------------------------------------------------------------------


def test_no_image_under_the_lab_tag_blocks_the_rest(learner: Lab) -> None:
    learner.client.images.remove(learner.image_tag)  # the tag only; the build stays
    results = learner.check()
    assert results["build"].status == "fail"
    assert {r.status for k, r in results.items() if k != "build"} == {"blocked"}
    # The tests' images carry the session's labels under other tags: the hint names one.
    assert f"docker tag labrun-test/docker-basics-{learner.session}:" in results["build"].hint


def test_reference_solution_scores_everything(learner: Lab) -> None:
    assert learner.played is not None
    env = {**learner.played.env, "LABRUN_PYTHON": sys.executable}
    solved = subprocess.run(
        ["bash", str(LAB_DIR / "solution" / "solve.sh")], cwd=learner.workspace, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "'prediction': 312.7" in solved.stdout
    results = learner.check()
    assert statuses(results) == ALL_PASS, {k: r.message for k, r in results.items()}
    points = sum(r.earned for r in results.values())
    assert points == learner.manifest.total_points == 17
    image = learner.client.images.get(learner.image_tag)
    assert image.labels["labrun.owner"] == learner.owner  # `labrun stop` can find it


def test_scripted_correct_run_passes(learner: Lab) -> None:
    learner.wait_healthy(learner.run())
    results = learner.check()
    assert statuses(results) == ALL_PASS, {k: r.message for k, r in results.items()}


def test_wrong_tag(learner: Lab, images: dict[str, Any]) -> None:
    learner.client.images.remove(learner.image_tag)
    learner.client.images.get(images["good"].id).tag("model-server", "latest")
    try:
        results = learner.check()
    finally:
        learner.client.images.remove("model-server:latest")
    assert results["build"].status == "fail"
    assert results["build"].message == f"there is no image {learner.image_tag} yet"
    assert "docker tag" in results["build"].hint and learner.image_tag in results["build"].hint
    assert results["run"].status == "blocked"


def test_image_without_the_lab_labels(learner: Lab, images: dict[str, Any]) -> None:
    learner.use(images["unlabelled"])
    learner.wait_healthy(learner.run())
    shown = failing(learner.check(), "labels")
    assert "labrun.session, labrun.owner missing" in shown["message"]
    assert "labrun stop" in shown["message"] and "$LABELS" in shown["hint"]


def test_root_user(learner: Lab, images: dict[str, Any]) -> None:
    learner.use(images["root"])
    learner.wait_healthy(learner.run())
    shown = failing(learner.check(), "non-root")
    assert "runs its app as root (no USER instruction)" in shown["message"]
    assert "USER 10001:10001" in shown["hint"]


def test_root_user_forced_at_run_time(learner: Lab) -> None:
    learner.wait_healthy(learner.run(user="root"))
    shown = failing(learner.check(), "non-root")
    assert "--user" in shown["message"]


def test_image_too_big(learner: Lab, images: dict[str, Any]) -> None:
    learner.use(images["big"])
    learner.wait_healthy(learner.run())
    shown = failing(learner.check(), "size")
    assert re.search(r"the image is \d+ MB, over the 250 MB limit", shown["message"])
    assert "slim" in shown["hint"]


def test_missing_healthcheck(learner: Lab, images: dict[str, Any]) -> None:
    learner.use(images["no-healthcheck"])
    learner.run()
    shown = failing(learner.check(), "healthcheck")
    assert "no HEALTHCHECK" in shown["message"]
    assert "HEALTHCHECK" in shown["hint"]


def test_container_under_another_name(learner: Lab) -> None:
    learner.run(name=f"web-{learner.session}")
    results = learner.check()
    assert results["run"].status == "fail"
    assert f"docker rename web-{learner.session} {learner.container_name}" in results["run"].hint
    assert results["port"].status == "blocked"


def test_container_that_crashed(learner: Lab) -> None:
    learner.run(command=["python", "-c", "raise SystemExit('bad config')"])
    time.sleep(1)
    results = learner.check()
    assert results["run"].status == "fail"
    assert "exited (exit code 1)" in results["run"].message
    assert "bad config" in results["run"].message
    assert "docker logs" in results["run"].hint


def test_not_on_the_lab_network(learner: Lab) -> None:
    learner.wait_healthy(learner.run(network="bridge"))
    shown = failing(learner.check(), "network")
    assert f"not on the lab's network {learner.outputs['network']}" in shown["message"]
    assert "docker network connect" in shown["hint"]


def test_port_published_on_every_interface(learner: Lab) -> None:
    # `-p 8000` as typed: no address, i.e. every interface (the test network keeps it local).
    learner.wait_healthy(learner.run(ports={"8000/tcp": None}))
    shown = failing(learner.check(), "port", predict="blocked")
    assert "published on every network interface (0.0.0.0)" in shown["message"]
    assert "-p 127.0.0.1:8000:8000" in shown["hint"]


def test_port_not_published(learner: Lab) -> None:
    learner.wait_healthy(learner.run(ports={}))
    shown = failing(learner.check(), "port", predict="blocked")
    assert "port 8000 of" in shown["message"] and "is not published" in shown["message"]


def test_volume_read_write(learner: Lab) -> None:
    volume = {learner.outputs["volume"]: {"bind": "/models", "mode": "rw"}}
    learner.wait_healthy(learner.run(volumes=volume))
    shown = failing(learner.check(), "volume", predict="blocked")
    assert "mounted read-write" in shown["message"]
    assert ":ro" in shown["hint"]


def test_model_folder_bind_mounted_instead_of_the_volume(learner: Lab) -> None:
    folder = {str(learner.workspace / "model"): {"bind": "/models", "mode": "ro"}}
    learner.wait_healthy(learner.run(volumes=folder))
    shown = failing(learner.check(), "volume", predict="blocked")
    assert "a folder of your machine" in shown["message"]


def test_config_variable_missing(learner: Lab) -> None:
    learner.wait_healthy(learner.run(environment={}))
    shown = failing(learner.check(), "config")
    assert "MODEL_NAME is not set" in shown["message"]
    assert "-e MODEL_NAME=house-price" in shown["hint"]


def test_model_not_copied_into_the_volume(learner: Lab) -> None:
    read_write = {learner.outputs["volume"]: {"bind": "/models", "mode": "rw"}}
    learner.client.containers.run(
        learner.image_tag, ["rm", "/models/model.json"], user="root", volumes=read_write,
        remove=True,
    )  # fmt: skip
    try:
        learner.wait_healthy(learner.run())
        shown = failing(learner.check(), "predict")
    finally:
        learner.remove_containers()
        learner.seed_volume()
    assert "the app has no model: model not loaded: /models/model.json" in shown["message"]
    assert "cp /src/model.json /models/model.json" in shown["hint"]


def test_rebuilt_image_needs_a_new_container(learner: Lab, images: dict[str, Any]) -> None:
    learner.wait_healthy(learner.run())
    learner.use(images["root"])  # a new build under the same tag, after the start
    results = learner.check()
    assert results["run"].status == "fail"
    assert "older build" in results["run"].message


# --- the lab's own start, stop and self-test ------------------------------------------------


def test_lab_test(tmp_path: Path, docker_client: Any) -> None:
    """`labrun lab test docker-basics`: start, untouched check, solve.sh, 17/17, stop."""
    env = lab_env(ensure_python_image(docker_client))
    tested = labrun("lab", "test", "docker-basics", "--json", env=env, timeout=900)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    report = json.loads(tested.stdout)
    assert report["ok"], report
    assert [s["status"] for s in report["steps"]] == ["ok"] * 5


def session_objects(client: Any, session: str) -> list[str]:
    """Every Docker object carrying the session's label."""
    marked = {"label": f"labrun.session={session}"}
    return [
        *(f"network {n.name}" for n in client.networks.list(filters=marked)),
        *(f"volume {v.name}" for v in client.volumes.list(filters=marked)),
        *(f"container {c.name}" for c in client.containers.list(all=True, filters=marked)),
    ]


def test_start_marks_everything_and_stop_destroys_it(tmp_path: Path, docker_client: Any) -> None:
    played = LabSession.start("docker-basics", tmp_path / "home", env=lab_env(
        ensure_python_image(docker_client)))  # fmt: skip
    try:
        labels = played.session.labels()
        network = docker_client.networks.get(played.outputs["network"])
        volume = docker_client.volumes.get(played.outputs["volume"])
        assert network.attrs["Labels"] == labels and volume.attrs["Labels"] == labels
        assert set(labels) == {
            "labrun.session", "labrun.lab", "labrun.owner", "labrun.expires-at",
            "labrun.hard-expires-at", "labrun.installation",
        }  # fmt: skip
        assert network.attrs["Options"] == SAFE_NETWORK  # TF_VAR_network_options
        env_file = (played.workspace / "lab.env").read_text()
        assert f"NETWORK={network.name}\n" in env_file
        assert f"--label labrun.owner={labels['labrun.owner']}" in env_file
    finally:
        code, receipt = played.stop()
    assert code == 0 and receipt["ok"], receipt
    destroyed = {"terraform_data.network", "terraform_data.volume", "terraform_data.lab_env"}
    assert destroyed <= set(receipt["destroyed"])
    assert receipt["swept"] == []  # Terraform's destroy removed them, not the sweep
    assert session_objects(docker_client, played.id) == []


def test_destroy_of_what_is_already_gone_succeeds(tmp_path: Path, docker_client: Any) -> None:
    played = LabSession.start("docker-basics", tmp_path / "home", env=lab_env(
        ensure_python_image(docker_client)))  # fmt: skip
    docker_client.networks.get(played.outputs["network"]).remove()  # removed by hand
    docker_client.volumes.get(played.outputs["volume"]).remove()
    code, receipt = played.stop()
    assert code == 0 and receipt["ok"] and receipt["errors"] == [], receipt
    assert {"terraform_data.network", "terraform_data.volume"} <= set(receipt["destroyed"])


def test_a_base_image_that_cannot_be_had_fails_start_in_one_line(
    tmp_path: Path, docker_client: Any
) -> None:
    missing = f"labrun-test/no-such-python:{secrets.token_hex(4)}"
    env = clean_env(tmp_path / "home", extra={"TF_VAR_base_image": missing})
    started = subprocess.run(
        [sys.executable, "-m", "labrun", "start", "docker-basics"], env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert started.returncode != 0
    last = started.stderr.strip().splitlines()[-1]
    assert last.startswith("labrun: session "), started.stderr
    assert f"the base image {missing} is not in the Docker engine and cannot be pulled" in last
    assert "TF_VAR_base_image=IMAGE" in last and "(nothing was left running)" in last
    assert "Traceback" not in started.stderr and "local-exec" not in last
    session = last.split()[2].rstrip(":")
    assert session_objects(docker_client, session) == []


def test_lab_lint() -> None:
    """The static checks of `labrun lab lint` (where this labrun has them) find nothing."""
    lint = pytest.importorskip("labrun.lint")
    report = lint.lint(LAB_DIR)
    assert report.ok and not report.findings, report.to_json()
