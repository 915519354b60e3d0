"""IAM instance profiles: the session's go with their role, not after it.

A profile is the session's when it carries the session's marks, or when it carries no
session mark at all, holds a role that does, and was created after that role (it cannot
have been made for anything else). Deleting a role only takes it out of its profiles, so
without this entry a lab's profiles outlive their roles.
"""

from __future__ import annotations

from collections.abc import Iterator

from labrun.sweep import Marks
from labrun.sweep.aws_types import (
    SESSION_TAG,
    AwsType,
    Client,
    Listed,
    arn_pattern,
    claim,
    described,
    gone_ok,
    moment,
    pages,
    resource,
    tag_dict,
)


@resource("aws:iam:instance-profile")
class InstanceProfile(AwsType):
    service = "iam"
    order = 55  # before its role (60)
    arn = arn_pattern("iam", "instance-profile/(?:.*/)?(?P<id>[^/]+)", region=False)
    tagging_api = False  # IAM is never in it

    def list_all(self, client: Client) -> Iterator[Listed]:
        for profile in pages(client, "list_instance_profiles", "InstanceProfiles"):
            name, created = profile["InstanceProfileName"], moment(profile.get("CreateDate"))
            inside = None
            if held_role_marks(client, profile):  # then it holds exactly one role
                inside = f"aws:iam:role {profile['Roles'][0]['RoleName']}"
            yield Listed(name, created, inside=inside)

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        # get_instance_profile has them; list_instance_profile_tags is missing from moto
        profile = client.get_instance_profile(InstanceProfileName=item.id)["InstanceProfile"]
        return tag_dict(profile.get("Tags", []))

    def list_marked(self, client: Client, marks: Marks) -> Iterator[tuple[str, dict[str, str]]]:
        for profile in pages(client, "list_instance_profiles", "InstanceProfiles"):
            name = profile["InstanceProfileName"]
            tags = self.tags_of(client, Listed(name, None))
            if tags is None:
                continue  # gone since the listing
            if SESSION_TAG not in tags:
                tags = held_role_marks(client, profile) or tags
            if claim(tags, marks) is not None:  # ours, or another owner's to report
                yield name, tags

    def exists(self, client: Client, id: str) -> bool:
        return described(client.get_instance_profile, InstanceProfileName=id) is not None

    def delete(self, client: Client, id: str) -> None:
        profile = client.get_instance_profile(InstanceProfileName=id)["InstanceProfile"]
        for role in profile.get("Roles", []):
            gone_ok(
                client.remove_role_from_instance_profile,
                InstanceProfileName=id,
                RoleName=role["RoleName"],
            )
        client.delete_instance_profile(InstanceProfileName=id)


def held_role_marks(iam: Client, profile: dict[str, object]) -> dict[str, str] | None:
    """The marks of the role an unmarked profile holds, when the profile was made after
    that role: then it is the role's. None otherwise."""
    created = moment(profile.get("CreateDate"))
    roles = profile.get("Roles")
    if created is None or not isinstance(roles, list) or len(roles) != 1:
        return None
    role = roles[0]
    role_created = moment(role.get("CreateDate"))
    if role_created is None or created < role_created:
        return None
    answer = described(iam.list_role_tags, RoleName=role["RoleName"])
    tags = tag_dict(answer["Tags"]) if answer else {}  # a role has at most 50 tags: one page
    return tags if SESSION_TAG in tags else None
