"""Sweeping the Docker engine: containers, networks, volumes and images of a session.

What carries the session's label (`labrun.session`) is ours. A container with no label of
ours that sits on a marked network or mounts a marked volume (the learner's own
`docker run --network lab-net` carries no labels) is adopted by containment only when it
was created after the session started and is attached to nothing but the session's
networks and volumes (and the engine's default networks, which are nobody's). Any other
unlabelled container there is only disconnected from the session's networks (a
`docker:attachment`), and reported when it mounts a session's volume: it is never
removed. A container whose labels name another session or another owner is never ours,
wherever it is attached.

Each resource type is one `Kind` in `KINDS`, registered in deletion order: containers go
first, so the networks and volumes they held can go after them, and images last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from labrun.errors import LabrunError
from labrun.session import parse_rfc3339
from labrun.sweep import FOREIGN, OURS, Found, Marks, Slot, Survey, found_or_raise

SESSION = "labrun.session"
OWNER = "labrun.owner"
EXPIRES_AT = "labrun.expires-at"
NETWORK = "docker:network"
VOLUME = "docker:volume"
CONTAINER = "docker:container"
IMAGE = "docker:image"
ATTACHMENT = "docker:attachment"  # a foreign container on a session's network or volume
DEFAULT_NETWORKS = frozenset({"bridge", "host", "none"})  # the engine's own: never reported
_RELATION = {NETWORK: "inside", VOLUME: "uses"}  # how a container lives in what it is on

Ref = tuple[str, str]  # (kind, id or name): how a container names what it is attached to


@dataclass(frozen=True)
class Record:
    """One Docker object as a listing returns it, in the same shape for every kind."""

    id: str
    name: str
    labels: dict[str, str]
    created: datetime
    uses: tuple[Ref, ...] = ()  # containers: the networks and volumes they are attached to

    def refs(self, kind: str) -> set[Ref]:
        """The ways a container's attachments can name this object."""
        return {(kind, self.id), (kind, self.name)}


@dataclass(frozen=True)
class Kind:
    """One Docker resource type: how to list it (by label filters) and remove one."""

    name: str
    order: int  # deletion order: lower goes first
    listing: Callable[[Any, list[str]], list[Record]]  # (client, label filters)
    remove: Callable[[Any, Found], None]
    reported_unmarked: bool = True  # listed by `unmarked_since`


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add one resource type to the sweep."""
    KINDS[kind.name] = kind
    return kind


def in_deletion_order() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda kind: kind.order)


class DockerSweeper:
    """The `Sweeper` for the Docker engine (DOCKER_HOST is honoured by the default client)."""

    name = "docker"
    workers = 4

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client

    def survey(self, marks: Marks, thorough: bool = False) -> Survey:
        """Everything labelled with `marks`, and the unlabelled containers living in it.
        The engine's listings are always up to date: every survey is thorough."""
        survey = Survey(thorough=True)
        marked = {kind.name: self._listing(kind, marks, survey) for kind in in_deletion_order()}
        ours = {name: _claimed(records, marks, OURS) for name, records in marked.items()}
        survey.found = [_found(name, r) for name, records in ours.items() for r in records]
        survey.foreign = [
            _found(name, record, f"carries this session's mark and another owner's "
                   f"({record.labels.get(OWNER)}): not deleted")
            for name, records in marked.items()
            for record in _claimed(records, marks, FOREIGN)
        ]  # fmt: skip
        parents = {**_parents(NETWORK, ours[NETWORK]), **_parents(VOLUME, ours[VOLUME])}
        try:
            survey.found += _inside(_list_containers(self.client, []), parents, marks.since)
        except Exception as exc:  # what lives in the session's networks stays unproven
            survey.unlisted[CONTAINER] = f"{type(exc).__name__}: {exc}"
        survey.found.sort(key=lambda resource: KINDS[resource.kind].order)
        return survey

    def find(self, marks: Marks) -> list[Found]:
        """What to delete for `marks`; raises SweepIncomplete when a listing failed."""
        return found_or_raise(self.survey(marks))

    def _listing(self, kind: Kind, marks: Marks, survey: Survey) -> list[Record]:
        try:
            return kind.listing(self.client, label_filters(marks))
        except Exception as exc:  # this kind stays unproven; the others are still swept
            survey.unlisted[kind.name] = f"{type(exc).__name__}: {exc}"
            return []

    def slot(self, resource: Found) -> Slot:
        """By kind, in deletion order; images one at a time (a child image goes before its
        parent, and both may be ours)."""
        order = KINDS[resource.kind].order if resource.kind in KINDS else 0
        return Slot(order, resource.kind, 1 if resource.kind == IMAGE else self.workers)

    def delete(self, resource: Found) -> None:
        """Remove one resource; "not found" is success, "in use" raises (retried next pass)."""
        if resource.kind not in KINDS:
            raise ValueError(f"not a Docker resource kind: {resource.kind}")
        KINDS[resource.kind].remove(self.client, resource)

    def unmarked_since(self, since: datetime) -> list[Found]:
        """Containers, networks and volumes created at or after `since` that carry no
        `labrun.session` label and are attached to nothing of a session: reported only.

        Docker gives some creation times to the second only (volumes, container listings),
        so `since` is compared to the second: a report errs towards showing more.
        """
        cutoff = _to_second(since)
        reported = [kind for kind in in_deletion_order() if kind.reported_unmarked]
        listed = {kind.name: kind.listing(self.client, []) for kind in reported}
        session_refs = _session_refs(listed)
        held = _held_by_sessions(listed[CONTAINER], session_refs)
        return [
            Found(kind=name, id=record.id, reason="unmarked", name=record.name)
            for name, records in listed.items()
            for record in records
            if record.created >= cutoff and not _of_a_session(name, record, session_refs, held)
        ]


def label_filters(marks: Marks) -> list[str]:
    """The engine's `label` filters (all must match) for what `marks` select. A session's
    sweep does not filter by owner: see `Marks.claim`."""
    if marks.session is not None:
        return [f"{SESSION}={marks.session}"]
    return [SESSION] if marks.owner is None else [SESSION, f"{OWNER}={marks.owner}"]


def _claimed(records: list[Record], marks: Marks, claim: str) -> list[Record]:
    """The records `marks` claim so (OURS or FOREIGN)."""
    return [r for r in records if marks.claim(r.labels.get(SESSION), r.labels.get(OWNER)) == claim]


def parse_docker_time(value: str | int) -> datetime:
    """A Docker creation time: Unix seconds, or RFC 3339 with nanoseconds and any offset."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    moment = parse_rfc3339(value)  # Python 3.11+ reads 9 fractional digits (keeps 6)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _to_second(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive: taken as UTC
    return aware.replace(microsecond=0)


def _found(kind: str, record: Record, reason: str = "marked") -> Found:
    return Found(
        kind=kind,
        id=record.id,
        session=record.labels.get(SESSION),
        owner=record.labels.get(OWNER),
        expires_at=record.labels.get(EXPIRES_AT),
        reason=reason,
        name=record.name,
    )


def _parents(kind: str, records: Iterable[Record]) -> dict[Ref, tuple[str, Record]]:
    return {ref: (kind, record) for record in records for ref in record.refs(kind)}


def _inside(
    containers: list[Record], parents: dict[Ref, tuple[str, Record]], since: datetime | None
) -> list[Found]:
    """What the session does about containers with no session label attached to its marked
    networks or volumes: remove those it provably made, detach the others."""
    found = []
    for container in containers:
        if SESSION in container.labels:
            continue  # judged by its own label: never adopted into another session
        attached = _attached(container, parents)
        if not attached:
            continue
        kind, record = attached[0]
        if container.labels.get(OWNER, record.labels.get(OWNER)) != record.labels.get(OWNER):
            continue  # provably someone else's
        foreign = _foreign(container, parents, since)
        if foreign is None:
            reason = f"{_RELATION[kind]} {kind} {record.name}"
            found.append(
                replace(_found(CONTAINER, record, reason), id=container.id, name=container.name)
            )
            continue
        found += [_attachment(container, kind, record, foreign) for kind, record in attached]
    return found


def _attached(
    container: Record, parents: dict[Ref, tuple[str, Record]]
) -> list[tuple[str, Record]]:
    """The marked networks and volumes a container is attached to, each once."""
    attached: dict[str, tuple[str, Record]] = {}
    for ref in container.uses:
        if ref in parents:
            kind, record = parents[ref]
            attached.setdefault(record.id, (kind, record))
    return list(attached.values())


def _foreign(
    container: Record, parents: dict[Ref, tuple[str, Record]], since: datetime | None
) -> str | None:
    """Why an unlabelled container is not provably the session's (None: it is). Docker lists
    a container's creation time to the second, so `since` is compared to the second."""
    if since is None:
        return "the session's start is unknown here"
    if container.created < _to_second(since):
        return "existed before the session"
    # The engine's default networks are nobody's: `docker run -v lab-vol:/data` lands on bridge.
    outside = [r for r in container.uses if r not in parents and r[1] not in DEFAULT_NETWORKS]
    if outside:
        kind, name = outside[0]
        return f"also attached to {kind} {name}"
    if len({parents[ref][1].labels.get(SESSION) for ref in container.uses if ref in parents}) > 1:
        return "attached to several sessions"
    return None


def _attachment(container: Record, kind: str, parent: Record, why: str) -> Found:
    """A foreign container on a session's network (detached) or volume (left, reported)."""
    if kind == NETWORK:
        reason = f"{why}: not removed, only detached from {kind} {parent.name}"
    else:
        reason = f"{why}: not removed, and its mount keeps {kind} {parent.name}"
    return replace(
        _found(ATTACHMENT, parent, reason),
        id=f"{container.id}/{kind}/{parent.id}",
        name=f"container {container.name} on {parent.name}",
    )


def _session_refs(listed: dict[str, list[Record]]) -> set[Ref]:
    """How containers name the networks and volumes that carry a session label."""
    return {
        ref
        for kind in (NETWORK, VOLUME)
        for record in listed[kind]
        if SESSION in record.labels
        for ref in record.refs(kind)
    }


def _held_by_sessions(containers: list[Record], session_refs: set[Ref]) -> set[Ref]:
    """What the session's containers (labelled, or living in its networks) are attached to."""
    held: set[Ref] = set()
    for container in containers:
        if SESSION in container.labels or session_refs.intersection(container.uses):
            held.update(container.uses)
    return held


def _of_a_session(kind: str, record: Record, session_refs: set[Ref], held: set[Ref]) -> bool:
    """Labelled, living in something labelled, held by a session's container, or the engine's."""
    return (
        SESSION in record.labels
        or bool(session_refs.intersection(record.uses))
        or bool(record.refs(kind) & held)
        or (kind == NETWORK and record.name in DEFAULT_NETWORKS)
    )


def _ignore_not_found(action: Callable[[], object]) -> None:
    from docker.errors import NotFound

    with contextlib.suppress(NotFound):
        action()


# Containers: removed with force (running or not) and with their anonymous volumes.


def _list_containers(client: Any, labels: list[str]) -> list[Record]:
    filters = {"label": labels} if labels else {}
    return [_container(summary) for summary in client.api.containers(all=True, filters=filters)]


def _container(summary: dict[str, Any]) -> Record:
    networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
    uses = [(NETWORK, name) for name in networks]  # a created container has no NetworkID yet
    # The engine's own networks by name only: containment ignores them (see _foreign).
    uses += [
        (NETWORK, net["NetworkID"])
        for name, net in networks.items()
        if net.get("NetworkID") and name not in DEFAULT_NETWORKS
    ]
    uses += [(VOLUME, m["Name"]) for m in summary.get("Mounts") or [] if m.get("Type") == "volume"]
    names = summary.get("Names") or [summary["Id"]]
    return Record(
        id=summary["Id"],
        name=names[0].lstrip("/"),
        labels=summary.get("Labels") or {},
        created=parse_docker_time(summary["Created"]),
        uses=tuple(uses),
    )


def _remove_container(client: Any, resource: Found) -> None:
    _ignore_not_found(lambda: client.api.remove_container(resource.id, v=True, force=True))


register(Kind(CONTAINER, order=10, listing=_list_containers, remove=_remove_container))


# Attachments: a foreign container's link to a session's network or volume. Found by
# containment only (never by label); the container itself is never removed.


def _no_listing(client: Any, labels: list[str]) -> list[Record]:
    return []


def _detach(client: Any, resource: Found) -> None:
    from docker.errors import APIError

    container, kind, parent = resource.id.split("/", 2)
    if kind == VOLUME:  # a mount cannot be undone: the volume stays, and the receipt says why
        raise LabrunError(f"{resource.name}: {resource.reason}")
    try:
        client.api.disconnect_container_from_network(container, parent, force=True)
    except APIError as exc:
        if exc.status_code != 404 and "is not connected" not in str(exc):
            raise


register(Kind(ATTACHMENT, order=15, listing=_no_listing, remove=_detach, reported_unmarked=False))


# Networks: removed once their containers are gone (the engine refuses while in use).


def _list_networks(client: Any, labels: list[str]) -> list[Record]:
    filters = {"label": labels} if labels else {}
    return [
        Record(
            id=net["Id"],
            name=net["Name"],
            labels=net.get("Labels") or {},
            created=parse_docker_time(net["Created"]),
        )
        for net in client.api.networks(filters=filters)
    ]


def _remove_network(client: Any, resource: Found) -> None:
    _ignore_not_found(lambda: client.api.remove_network(resource.id))


register(Kind(NETWORK, order=20, listing=_list_networks, remove=_remove_network))


# Volumes: removed once no container mounts them (the engine refuses while in use).


def _list_volumes(client: Any, labels: list[str]) -> list[Record]:
    filters = {"label": labels} if labels else {}
    volumes = client.api.volumes(filters=filters).get("Volumes") or []
    return [
        Record(
            id=volume["Name"],
            name=volume["Name"],
            labels=volume.get("Labels") or {},
            created=parse_docker_time(volume["CreatedAt"]),
        )
        for volume in volumes
    ]


def _remove_volume(client: Any, resource: Found) -> None:
    _ignore_not_found(lambda: client.api.remove_volume(resource.id))


register(Kind(VOLUME, order=30, listing=_list_volumes, remove=_remove_volume))


# Images: only those labelled with the session; never a base image that was merely used.
# Newest first, so an image built FROM another of the session goes before its parent.


def _list_images(client: Any, labels: list[str]) -> list[Record]:
    images = client.api.images(filters={"label": labels} if labels else {})
    records = [
        Record(
            id=image["Id"],
            name=next(iter(image.get("RepoTags") or []), image["Id"]),
            labels=image.get("Labels") or {},
            created=parse_docker_time(image["Created"]),
        )
        for image in images
    ]
    return sorted(records, key=lambda record: record.created, reverse=True)


def _remove_image(client: Any, resource: Found) -> None:
    from docker.errors import NotFound

    try:
        config = client.api.inspect_image(resource.id).get("Config") or {}
    except NotFound:
        return
    if not _carries(config.get("Labels") or {}, resource):
        raise LabrunError(f"image {resource.id} does not carry the marks of {resource.session}")
    _ignore_not_found(lambda: client.api.remove_image(resource.id, force=True, noprune=False))


def _carries(labels: dict[str, str], resource: Found) -> bool:
    """The image is labelled with a session, and with the resource's session and owner."""
    return SESSION in labels and all(
        mark is None or labels.get(key) == mark
        for key, mark in ((SESSION, resource.session), (OWNER, resource.owner))
    )


register(Kind(IMAGE, order=40, listing=_list_images, remove=_remove_image, reported_unmarked=False))
