"""Secrets Manager secrets: deleted without a recovery window.

DeleteSecret alone schedules the delete 7 to 30 days later, and the secret's name stays
taken meanwhile: a lab run again would fail to create its secret. A secret carrying the
session's mark is the session's throwaway data, so labrun deletes it at once
(`ForceDeleteWithoutRecovery`). A secret already scheduled for deletion (one Terraform's
destroy deleted with a recovery window) counts as gone: it is not listed.
"""

from __future__ import annotations

from collections.abc import Iterator

from labrun.sweep.aws_types import (
    AwsType,
    Client,
    Listed,
    arn_pattern,
    described,
    moment,
    pages,
    resource,
    tag_dict,
)


@resource("aws:secretsmanager:secret")
class Secret(AwsType):
    service = "secretsmanager"
    order = 50
    arn = arn_pattern("secretsmanager", "secret:(?P<id>.+)")
    tagging_api = False  # it keeps answering with secrets scheduled for deletion

    def id_from_arn(self, arn: str) -> str | None:
        return arn if super().id_from_arn(arn) else None  # the ARN: names are reused

    def list_all(self, client: Client) -> Iterator[Listed]:
        for secret in pages(client, "list_secrets", "SecretList"):
            if "DeletedDate" not in secret:
                tags = tag_dict(secret.get("Tags", []))
                yield Listed(secret["ARN"], moment(secret.get("CreatedDate")), tags)

    def exists(self, client: Client, id: str) -> bool:
        secret = described(client.describe_secret, SecretId=id)
        return secret is not None and "DeletedDate" not in secret

    def delete(self, client: Client, id: str) -> None:
        secret = client.describe_secret(SecretId=id)
        if "DeletedDate" in secret:
            return
        replicas = [replica["Region"] for replica in secret.get("ReplicationStatus", [])]
        if replicas:  # a primary with replicas cannot be deleted
            client.remove_regions_from_replication(SecretId=id, RemoveReplicaRegions=replicas)
        client.delete_secret(SecretId=id, ForceDeleteWithoutRecovery=True)
