"""AWS APIs that moto does not implement, emulated by the proxy where a test needs them.

- IAM service-specific credentials (the CodeCommit and Keyspaces passwords of a user): moto
  answers their calls with a 500. The proxy keeps them itself, in memory, and refuses
  DeleteUser with DeleteConflict while the user has one, as AWS does. This is not a
  dependency rule (`dependencies(False)` does not turn it off): moto has nothing to say.
- ListEntitiesForPolicy with PolicyUsageFilter=PermissionsBoundary: moto ignores the filter
  and answers with the policy's attachments. The proxy answers with the roles whose
  permissions boundary the policy is (moto keeps roles' boundaries, not users').
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from testing.strict_aws.wire import Answer, Backend, Request, error

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"


@dataclass
class Credential:
    id: str
    user: str
    service: str
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def xml(self, password: bool = False) -> str:
        secret = f"<ServicePassword>{uuid.uuid4().hex}</ServicePassword>" if password else ""
        return (
            f"<UserName>{self.user}</UserName><Status>Active</Status>"
            f"<ServiceUserName>{self.user}-at-123456789012</ServiceUserName>{secret}"
            f"<CreateDate>{self.created}</CreateDate><ServiceName>{self.service}</ServiceName>"
            f"<ServiceSpecificCredentialId>{self.id}</ServiceSpecificCredentialId>"
        )


class Missing:
    """The emulated APIs' state, for one proxy."""

    def __init__(self) -> None:
        self._credentials: dict[str, Credential] = {}
        self._lock = threading.Lock()

    def answer(self, strict: Backend, request: Request) -> Answer | None:
        """The answer to `request` when it is an emulated call, else None (moto answers)."""
        if (
            request.action == "iam:ListEntitiesForPolicy"
            and request.param("PolicyUsageFilter") == "PermissionsBoundary"
        ):
            roles = "".join(
                f"<member><RoleName>{name}</RoleName><RoleId>{id}</RoleId></member>"
                for name, id in bounded_roles(strict, request.param("PolicyArn"))
            )
            inner = (
                "<PolicyGroups/><PolicyUsers/>"
                f"<PolicyRoles>{roles}</PolicyRoles><IsTruncated>false</IsTruncated>"
            )
            return _ok(request.operation, inner)
        user = request.param("UserName")
        with self._lock:
            mine = [c for c in self._credentials.values() if c.user == user]
            if request.action == "iam:DeleteUser" and mine:
                message = "Cannot delete entity, must remove service specific credentials first."
                return error(request, 409, "DeleteConflict", message)
            if request.action == "iam:ListServiceSpecificCredentials":
                members = "".join(f"<member>{c.xml()}</member>" for c in mine)
                inner = f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>"
                return _ok(request.operation, inner)
            if request.action == "iam:DeleteServiceSpecificCredential":
                id = request.param("ServiceSpecificCredentialId")
                if self._credentials.pop(id, None) is None:
                    return error(request, 404, "NoSuchEntity", f"No such credential: {id}")
                return _ok(request.operation, "")
            if request.action == "iam:CreateServiceSpecificCredential":
                strict.moto("iam").get_user(UserName=user)  # moto's NoSuchEntity if none
                id = "ACCA" + uuid.uuid4().hex[:17].upper()
                credential = Credential(id, user, request.param("ServiceName"))
                self._credentials[id] = credential
                inner = (
                    f"<ServiceSpecificCredential>{credential.xml(True)}</ServiceSpecificCredential>"
                )
                return _ok(request.operation, inner)
        return None


def _ok(operation: str, inner: str) -> Answer:
    """A query-protocol (IAM) answer."""
    metadata = f"<ResponseMetadata><RequestId>{uuid.uuid4().hex}</RequestId></ResponseMetadata>"
    xml = (
        f'<{operation}Response xmlns="{IAM_NS}"><{operation}Result>{inner}</{operation}Result>'
        f"{metadata}</{operation}Response>"
    )
    return Answer(200, {"Content-Type": "text/xml", "x-strict-aws": "emulated"}, xml.encode())


def bounded_roles(strict: Backend, policy: str) -> list[tuple[str, str]]:
    """(name, id) of the roles whose permissions boundary is `policy`."""
    iam = strict.moto("iam")
    found = []
    for page in iam.get_paginator("list_roles").paginate():
        for listed in page["Roles"]:
            role = iam.get_role(RoleName=listed["RoleName"])["Role"]
            if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == policy:
                found.append((role["RoleName"], role["RoleId"]))
    return found
