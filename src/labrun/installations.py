"""Two installations (two LABRUN_HOMEs) sharing one LABRUN_OWNER on one account or engine.

Each installation marks what it creates with its id (`labrun:installation`, the Docker
label `labrun.installation`). One installation's reaper cannot know the other's sessions:
to it they look like orphans, "sessions unknown to this installation". So before it
reaps those, it looks for another installation's marks under its own owner, leaves their
sessions alone, and warns. Each place is one entry of a registry, like the sweepers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from labrun.session import INSTALLATION_TAG
from labrun.sweep import Sweeper

SESSION_TAG = "labrun:session"
OWNER_TAG = "labrun:owner"

# Each place's (session, installation) marks under one owner, by the sweeper's name.
Lister = Callable[[Any, str], Iterator[tuple[str, str]]]
LISTERS: dict[str, Lister] = {}


def lister(name: str) -> Callable[[Lister], Lister]:
    def register(function: Lister) -> Lister:
        LISTERS[name] = function
        return function

    return register


def foreign_sessions(sweeper: Sweeper, owner: str, mine: str) -> dict[str, str]:
    """Sessions of `owner` that another installation than `mine` marked in this place:
    their ids, each with that installation's id."""
    listing = LISTERS.get(sweeper.name)
    if listing is None:
        return {}
    return {session: other for session, other in listing(sweeper, owner) if other != mine}


@lister("aws")
def _aws(sweeper: Any, owner: str) -> Iterator[tuple[str, str]]:
    api = sweeper.client("resourcegroupstaggingapi")
    filters = [{"Key": OWNER_TAG, "Values": [owner]}, {"Key": INSTALLATION_TAG}]
    for page in api.get_paginator("get_resources").paginate(TagFilters=filters):
        for mapping in page["ResourceTagMappingList"]:
            tags = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
            if SESSION_TAG in tags:
                yield tags[SESSION_TAG], tags[INSTALLATION_TAG]


@lister("docker")
def _docker(sweeper: Any, owner: str) -> Iterator[tuple[str, str]]:
    engine = sweeper.client
    key = INSTALLATION_TAG.replace(":", ".")
    filters = {"label": [f"{OWNER_TAG.replace(':', '.')}={owner}", key]}
    session = SESSION_TAG.replace(":", ".")
    listings: list[list[Any]] = [
        engine.containers.list(all=True, filters=filters),
        engine.networks.list(filters=filters),
        engine.volumes.list(filters=filters),
    ]
    for listing in listings:
        for item in listing:
            labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            if session in labels:
                yield labels[session], labels[key]
