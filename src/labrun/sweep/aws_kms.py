"""KMS keys: a delete only schedules it, after a waiting period of 7 to 30 days.

labrun asks for the shortest, 7 days (AWS stops billing the key at once). A key pending
deletion counts as gone: it is not listed, so a teardown does not fail for a week. Its
aliases are deleted at once, so that a lab run again can create them again.
"""

from __future__ import annotations

from collections.abc import Iterator

from labrun.sweep.aws_types import (
    AwsType,
    Client,
    Listed,
    arn_pattern,
    error_code,
    gone_ok,
    moment,
    pages,
    resource,
)

PENDING_WINDOW_DAYS = 7  # the minimum AWS accepts
GONE_STATES = {"PendingDeletion", "PendingReplicaDeletion"}


@resource("aws:kms:key")
class Key(AwsType):
    service = "kms"
    order = 80  # last: what it encrypts goes first
    arn = arn_pattern("kms", "key/(?P<id>.+)")
    tagging_api = False  # it keeps answering with keys pending deletion

    def list_all(self, client: Client) -> Iterator[Listed]:
        for key in pages(client, "list_keys", "Keys"):
            metadata = describe(client, key["KeyId"])
            if metadata is None or metadata.get("KeyManager") == "AWS":
                continue  # AWS managed keys (aws/s3...) are never a lab's
            if metadata.get("KeyState") not in GONE_STATES:
                yield Listed(key["KeyId"], moment(metadata.get("CreationDate")))

    def tags(self, client: Client, item: Listed) -> dict[str, str]:
        tags = pages(client, "list_resource_tags", "Tags", KeyId=item.id)
        return {tag["TagKey"]: tag["TagValue"] for tag in tags}

    def exists(self, client: Client, id: str) -> bool:
        metadata = describe(client, id)
        return metadata is not None and metadata.get("KeyState") not in GONE_STATES

    def delete(self, client: Client, id: str) -> None:
        for alias in list(pages(client, "list_aliases", "Aliases", KeyId=id)):
            gone_ok(client.delete_alias, AliasName=alias["AliasName"])
        metadata = describe(client, id)
        if metadata is not None and metadata.get("KeyState") not in GONE_STATES:
            client.schedule_key_deletion(KeyId=id, PendingWindowInDays=PENDING_WINDOW_DAYS)


def describe(kms: Client, id: str) -> dict[str, object] | None:
    """The key's metadata; None when it is gone, or when its key policy does not let this
    identity read it (then labrun could not delete it either, and cannot tell whose it is)."""
    try:
        return dict(kms.describe_key(KeyId=id)["KeyMetadata"])
    except Exception as exc:
        if error_code(exc) in ("NotFoundException", "AccessDeniedException"):
            return None
        raise
