"""The Docker sweeper against the real engine: ours goes, everything else stays."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from docker.errors import NotFound

from labrun.errors import LabrunError
from labrun.sweep import Found, Marks, sweep
from labrun.sweep.docker import (
    ATTACHMENT,
    CONTAINER,
    IMAGE,
    NETWORK,
    VOLUME,
    DockerSweeper,
    in_deletion_order,
    label_filters,
    parse_docker_time,
)
from testing.docker_images import BUSYBOX_TAG, ensure_busybox_image

MOUNT = {"bind": "/data", "mode": "rw"}


def new_id() -> str:
    """A session (or owner) id no other test, or other run, uses."""
    return "t" + uuid.uuid4().hex[:7]


def marks_of(session: str, owner: str) -> dict[str, str]:
    return {
        "labrun.session": session,
        "labrun.lab": "sweep-test",
        "labrun.owner": owner,
        "labrun.expires-at": "2030-01-01T00:00:00Z",
    }


class Made:
    """What a test creates in the engine, all removed when the test ends (swept or not)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.image = ensure_busybox_image(client)
        self.prefix = "lrt-" + uuid.uuid4().hex[:8]
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []
        self.images: list[str] = []

    def _name(self, what: str) -> str:
        return f"{self.prefix}-{what}-{uuid.uuid4().hex[:4]}"

    def network(self, labels: dict[str, str] | None = None) -> Any:
        network = self.client.networks.create(self._name("net"), labels=labels or {})
        self.networks.append(network.id)
        return network

    def volume(self, labels: dict[str, str] | None = None) -> Any:
        volume = self.client.volumes.create(self._name("vol"), labels=labels or {})
        self.volumes.append(volume.name)
        return volume

    def run(self, **options: Any) -> Any:
        """A running container (`sleep` bounds its life should every clean-up fail)."""
        container = self.client.containers.run(
            self.image, "sleep 600", detach=True, name=self._name("ctr"), **options
        )
        self.containers.append(container.id)
        return container

    def create(self, **options: Any) -> Any:
        """A created, never started container."""
        container = self.client.containers.create(
            self.image, "sleep 600", name=self._name("ctr"), **options
        )
        self.containers.append(container.id)
        return container

    def labelled_image(self, labels: dict[str, str]) -> Any:
        """An image committed from a throwaway container, with `labels` added."""
        source = self.create()
        changes = ["LABEL " + " ".join(f"{key}={value}" for key, value in labels.items())]
        image = source.commit(
            repository=f"labrun-test/{self.prefix}", tag=new_id(), changes=changes
        )
        self.images.append(image.id)
        return image

    def remove_all(self) -> None:
        api = self.client.api
        for container in self.containers:
            _quietly(lambda c=container: api.remove_container(c, v=True, force=True))
        for network in self.networks:
            _quietly(lambda n=network: api.remove_network(n))
        for volume in self.volumes:
            _quietly(lambda v=volume: api.remove_volume(v))
        for image in self.images:
            _quietly(lambda i=image: api.remove_image(i, force=True))


def _quietly(action: Any) -> None:
    with contextlib.suppress(NotFound):
        action()


@pytest.fixture
def made(docker_client: Any) -> Iterator[Made]:
    created = Made(docker_client)
    try:
        yield created
    finally:
        created.remove_all()


def exists(getter: Any, key: str) -> bool:
    try:
        getter(key)
    except NotFound:
        return False
    return True


def keys(found: list[Found]) -> set[tuple[str, str]]:
    return {(resource.kind, resource.id) for resource in found}


@pytest.mark.docker
def test_sweep_removes_all_of_the_session_and_nothing_else(docker_client: Any, made: Made) -> None:
    session, owner, other = new_id(), new_id(), new_id()
    ours = marks_of(session, owner)
    started = datetime.now(UTC)
    network, volume = made.network(ours), made.volume(ours)
    labelled = made.run(labels=ours, network=network.name, volumes={volume.name: MOUNT})
    learner = made.run(network=network.name)  # the learner's own `docker run`: no labels
    on_volume = made.create(volumes={volume.name: MOUNT})  # never started, no labels
    image = made.labelled_image(ours)
    # Labelled by hand with the session's id alone (no owner label): the session's too.
    by_hand = made.run(labels={"labrun.session": session})
    # Survivors: unattached, another session's, another owner's, unlabelled but claimed.
    stray = made.run()
    theirs = marks_of(other, owner)
    their_net, their_vol = made.network(theirs), made.volume(theirs)
    their_ctr = made.run(labels=theirs, network=their_net.name, volumes={their_vol.name: MOUNT})
    their_image = made.labelled_image(theirs)
    someone = marks_of(session, "someone-else")
    someones_net, someones_vol = made.network(someone), made.volume(someone)
    someones_ctr = made.run(labels=someone, network=someones_net.name)
    claimed = made.create(labels={"labrun.owner": "someone-else"}, network=network.name)
    sweeper = DockerSweeper(docker_client)
    marks = Marks(session=session, owner=owner, since=started)

    found = sweeper.find(marks)

    assert {(r.kind, r.id, r.reason) for r in found} == {
        (CONTAINER, labelled.id, "marked"),
        (CONTAINER, learner.id, f"inside docker:network {network.name}"),
        (CONTAINER, on_volume.id, f"uses docker:volume {volume.name}"),
        (NETWORK, network.id, "marked"),
        (VOLUME, volume.name, "marked"),
        (IMAGE, image.id, "marked"),
        (CONTAINER, by_hand.id, "marked"),
    }
    order = [kind.name for kind in in_deletion_order()]
    assert [order.index(r.kind) for r in found] == sorted(order.index(r.kind) for r in found)
    assert {(r.session, r.owner, r.expires_at) for r in found if r.id != by_hand.id} == {
        (session, owner, "2030-01-01T00:00:00Z")
    }

    result = sweep(sweeper, marks)

    # This session's id with another owner's mark: never deleted, reported as remaining.
    assert keys(result.remaining) == {
        (CONTAINER, someones_ctr.id), (NETWORK, someones_net.id), (VOLUME, someones_vol.name),
    }  # fmt: skip
    assert all("another owner's (someone-else)" in r.reason for r in result.remaining)
    assert result.failed == []
    assert keys(result.removed) == keys(found)
    containers, networks, volumes = (
        docker_client.containers,
        docker_client.networks,
        docker_client.volumes,
    )
    for container in (labelled, learner, on_volume, by_hand):
        assert not exists(containers.get, container.id)
    assert not exists(networks.get, network.id)
    assert not exists(volumes.get, volume.name)
    assert not exists(docker_client.images.get, image.id)
    for container in (stray, their_ctr, someones_ctr, claimed):
        assert exists(containers.get, container.id)
    for kept_net in (their_net, someones_net):
        assert exists(networks.get, kept_net.id)
    for kept_vol in (their_vol, someones_vol):
        assert exists(volumes.get, kept_vol.name)
    assert exists(docker_client.images.get, their_image.id)
    assert exists(docker_client.images.get, BUSYBOX_TAG)  # the base image was merely used
    assert sweeper.find(marks) == []
    for resource in found:
        sweeper.delete(resource)  # already gone: success


@pytest.mark.docker
def test_a_container_that_was_there_before_the_session_is_only_detached(
    docker_client: Any, made: Made
) -> None:
    session, owner = new_id(), new_id()
    older = made.run()  # someone's own container, from before the session
    time.sleep(1.2)  # creation times are to the second: keep it a second before the start
    started = datetime.now(UTC)
    network, volume = made.network(marks_of(session, owner)), made.volume(marks_of(session, owner))
    network.connect(older)  # then attached to the session's network
    elsewhere = made.network()  # someone's own network
    bridged = made.run(network=elsewhere.name)  # made during the session, also on theirs
    network.connect(bridged)
    learner = made.run(network=network.name)  # made during the session, on its network only
    mounts = made.create(volumes={volume.name: MOUNT}, network=network.name)
    sweeper = DockerSweeper(docker_client)
    marks = Marks(session=session, owner=owner, since=started)

    found = {(r.kind, r.id): r.reason for r in sweeper.find(marks)}

    detached = "not removed, only detached from docker:network " + network.name
    assert found == {
        (CONTAINER, learner.id): f"inside docker:network {network.name}",
        (CONTAINER, mounts.id): f"inside docker:network {network.name}",
        (
            ATTACHMENT,
            f"{older.id}/{NETWORK}/{network.id}",
        ): f"existed before the session: {detached}",
        (ATTACHMENT, f"{bridged.id}/{NETWORK}/{network.id}"): (
            f"also attached to docker:network {elsewhere.name}: {detached}"
        ),
        (NETWORK, network.id): "marked",
        (VOLUME, volume.name): "marked",
    }
    assert sweeper.find(Marks(session=session, owner=owner)) != []  # no start: nothing adopted
    assert CONTAINER not in {r.kind for r in sweeper.find(Marks(session=session, owner=owner))}

    result = sweep(sweeper, marks)

    assert result.remaining == [] and result.failed == []
    for kept in (older, bridged):
        kept.reload()
        assert kept.status == "running"
        assert network.name not in kept.attrs["NetworkSettings"]["Networks"]
    assert not exists(docker_client.containers.get, learner.id)
    assert not exists(docker_client.networks.get, network.id)


@pytest.mark.docker
def test_a_foreign_container_mounting_the_sessions_volume_is_reported_not_removed(
    docker_client: Any, made: Made
) -> None:
    session, owner = new_id(), new_id()
    volume = made.volume(marks_of(session, owner))
    user = made.run(volumes={volume.name: MOUNT})
    sweeper = DockerSweeper(docker_client)

    # It was made after the session started, but the session never recorded a start here:
    # nothing proves it is the session's.
    result = sweep(sweeper, Marks(session=session, owner=owner), max_passes=2)

    assert keys(result.remaining) == {
        (ATTACHMENT, f"{user.id}/{VOLUME}/{volume.name}"),
        (VOLUME, volume.name),
    }
    errors = dict((r.kind, error) for r, error in result.failed)
    assert "start is unknown here: not removed, and its mount keeps" in errors[ATTACHMENT]
    user.reload()
    assert user.status == "running"


@pytest.mark.docker
def test_another_sessions_container_on_our_network_survives(docker_client: Any, made: Made) -> None:
    session, owner = new_id(), new_id()
    network = made.network(marks_of(session, owner))
    intruder = made.run(labels=marks_of(new_id(), owner), network=network.name)
    sweeper = DockerSweeper(docker_client)

    result = sweep(sweeper, Marks(session=session, owner=owner), max_passes=2)

    # The honest outcome: our network cannot go while their container is on it.
    assert keys(result.remaining) == {(NETWORK, network.id)}
    assert [(r.id, error.split(":")[0]) for r, error in result.failed] == [(network.id, "APIError")]
    intruder.reload()
    assert intruder.status == "running"


@pytest.mark.docker
def test_find_by_owner_across_sessions_or_by_session_across_owners(
    docker_client: Any, made: Made
) -> None:
    first, second, owner, other_owner = new_id(), new_id(), new_id(), new_id()
    mine = made.network(marks_of(first, owner))
    my_second = made.network(marks_of(second, owner))
    theirs = made.network(marks_of(first, other_owner))
    sweeper = DockerSweeper(docker_client)

    assert keys(sweeper.find(Marks(session=None, owner=owner))) == {
        (NETWORK, mine.id),
        (NETWORK, my_second.id),
    }
    assert keys(sweeper.find(Marks(session=first, owner=None))) == {
        (NETWORK, mine.id),
        (NETWORK, theirs.id),
    }


@pytest.mark.docker
def test_unmarked_since_reports_new_unlabelled_things_only(docker_client: Any, made: Made) -> None:
    session, owner = new_id(), new_id()
    older = made.run()
    time.sleep(1.2)  # creation times can be to the second: keep `older` a second before
    since = datetime.now(UTC)
    new_ctr, new_net, new_vol = made.run(), made.network(), made.volume()
    session_net = made.network(marks_of(session, owner))
    inside = made.create(network=session_net.name)  # lives in the session: swept, not reported
    held = made.volume()  # unlabelled, but held by a session's container
    session_ctr = made.create(labels=marks_of(session, owner), volumes={held.name: MOUNT})

    unmarked = DockerSweeper(docker_client).unmarked_since(since)

    reported = keys(unmarked)
    assert {(CONTAINER, new_ctr.id), (NETWORK, new_net.id), (VOLUME, new_vol.name)} <= reported
    for kind, key in (
        (CONTAINER, older.id),
        (NETWORK, session_net.id),
        (CONTAINER, inside.id),
        (VOLUME, held.name),
        (CONTAINER, session_ctr.id),
    ):
        assert (kind, key) not in reported
    default_ids = {docker_client.networks.get(name).id for name in ("bridge", "host", "none")}
    assert not {(NETWORK, net) for net in default_ids} & reported
    assert {r.reason for r in unmarked} == {"unmarked"}
    assert {r.session for r in unmarked} == {None}


@pytest.mark.docker
def test_delete_refuses_an_image_without_the_marks(docker_client: Any) -> None:
    base = docker_client.images.get(ensure_busybox_image(docker_client))
    sweeper = DockerSweeper(docker_client)

    with pytest.raises(LabrunError):
        sweeper.delete(Found(kind=IMAGE, id=base.id, session=new_id()))

    assert exists(docker_client.images.get, base.id)
    sweeper.delete(Found(kind=IMAGE, id="sha256:" + "0" * 64))  # not found: success
    sweeper.delete(Found(kind=CONTAINER, id="lrt-" + new_id()))
    with pytest.raises(ValueError):
        sweeper.delete(Found(kind="docker:secret", id="x"))


def test_kinds_are_deleted_dependents_first() -> None:
    order = [kind.name for kind in in_deletion_order()]
    assert order == [CONTAINER, ATTACHMENT, NETWORK, VOLUME, IMAGE]


def test_label_filters() -> None:
    # A session's sweep selects by its id alone; the owner label is judged afterwards.
    assert label_filters(Marks(session="s1", owner="me")) == ["labrun.session=s1"]
    assert label_filters(Marks(session=None, owner="me")) == [
        "labrun.session",
        "labrun.owner=me",
    ]
    assert label_filters(Marks(session=None, owner=None)) == ["labrun.session"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T10:05:50.269062302Z", datetime(2026, 11, 27, 10, 5, 50, 269062, UTC)),
        ("2026-11-27T11:05:50+01:00", datetime(2026, 11, 27, 10, 5, 50, tzinfo=UTC)),
        ("2026-11-27T12:05:50.5-02:00", datetime(2026, 11, 27, 14, 5, 50, 500000, UTC)),
        (1795773950, datetime(2026, 11, 27, 10, 5, 50, tzinfo=UTC)),
    ],
)
def test_parse_docker_time(value: str | int, expected: datetime) -> None:
    assert parse_docker_time(value) == expected


def test_an_engine_that_does_not_answer_is_a_failure_per_kind_not_a_crash() -> None:
    import docker

    # A real client, pointed at a port nothing listens on (the version given: no probe).
    gone = docker.DockerClient(base_url="tcp://127.0.0.1:9", version="1.41", timeout=2)
    sweeper = DockerSweeper(gone)

    result = sweep(sweeper, Marks(session="s1", owner="o1"))

    assert (result.removed, result.remaining) == ([], [])
    assert {resource.kind for resource, _ in result.failed} == {CONTAINER, NETWORK, VOLUME, IMAGE}
    assert all("ConnectionError" in error for _, error in result.failed)
    with pytest.raises(LabrunError, match="listing failed"):
        sweeper.find(Marks(session="s1", owner="o1"))
