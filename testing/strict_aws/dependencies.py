"""Dependencies: what AWS refuses to delete while something still depends on it.

EC2 answers DependencyViolation (or InvalidIPAddress.InUse, VolumeInUse), IAM DeleteConflict.
Each check is registered for one action with `@depends` and yields what still depends on the
resource, asking moto directly; `refusal` turns the first one into AWS's error answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from testing.strict_aws.missing import bounded_roles
from testing.strict_aws.wire import Answer, Backend, Request, error

Check = Callable[[Backend, Request], Iterator[str]]  # yields what still depends on it
DEPENDENCIES: dict[str, tuple[str, str, Check]] = {}  # action -> (code, message, check)


def depends(action: str, code: str, message: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        DEPENDENCIES[action] = (code, message, check)
        return check

    return register


def refusal(strict: Backend, request: Request) -> Answer | None:
    if request.action not in DEPENDENCIES:
        return None
    code, message, check = DEPENDENCIES[request.action]
    blockers = list(check(strict, request))
    if not blockers:
        return None
    status = 409 if code == "DeleteConflict" else 400
    return error(request, status, code, message.format(id=_id_of(request), what=blockers[0]))


def _id_of(request: Request) -> str:
    for name in ("GroupId", "VpcId", "SubnetId", "InternetGatewayId", "AllocationId",
                 "AssociationId", "VolumeId", "NetworkInterfaceId", "RouteTableId", "UserName",
                 "RoleName", "PolicyArn", "InstanceProfileName", "GroupName",
                 "SerialNumber"):  # fmt: skip
        if name in request.params:
            return request.param(name)
    return ""


def _ec2(strict: Backend, request: Request) -> Any:
    return strict.moto("ec2", request.region)


def _where(name: str, *values: str) -> list[dict[str, Any]]:
    return [{"Name": name, "Values": list(values)}]


LIVE = ("pending", "running", "shutting-down", "stopping", "stopped")


def _instances(ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    filters = [*filters, *_where("instance-state-name", *LIVE)]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


def _enis(strict: Backend, ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    """Network interfaces in use, leaving out what moto keeps and AWS does not."""
    interfaces = ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"]
    holder = {i["NetworkInterfaceId"]: i.get("Attachment", {}).get("InstanceId")
              for i in interfaces}  # fmt: skip
    held = {id for id in holder.values() if id}
    live = set(_instances(ec2, _where("instance-id", *held))) if held else set()
    leftovers = _moto_leftovers(strict, ec2)
    return [
        eni
        for eni, instance in holder.items()
        if (instance is None or instance in live) and eni not in leftovers
    ]


def _moto_leftovers(strict: Backend, ec2: Any) -> set[str]:
    """The interfaces of deleted NAT gateways: moto keeps them (and their addresses stay
    associated with them), where AWS deletes them with the gateway."""
    gateways = ec2.describe_nat_gateways()["NatGateways"]
    return {
        address["NetworkInterfaceId"]
        for gateway in gateways
        if gateway["State"] == "deleted" and not strict.pending(gateway["NatGatewayId"])
        for address in gateway.get("NatGatewayAddresses", [])
        if "NetworkInterfaceId" in address
    }


def _live_nat_gateways(strict: Backend, ec2: Any, filters: list[dict[str, Any]]) -> list[str]:
    gateways = ec2.describe_nat_gateways(Filters=filters)["NatGateways"]
    return [
        g["NatGatewayId"]
        for g in gateways
        if g["State"] != "deleted" or strict.pending(g["NatGatewayId"])
    ]


@depends("ec2:DeleteSecurityGroup", "DependencyViolation", "resource {id} has a dependent object")
def _group_users(strict: Backend, request: Request) -> Iterator[str]:
    ec2 = _ec2(strict, request)
    id = request.param("GroupId")
    if not id:
        return
    yield from _instances(ec2, _where("instance.group-id", id))
    yield from _enis(strict, ec2, _where("group-id", id))
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        rules = [*group.get("IpPermissions", []), *group.get("IpPermissionsEgress", [])]
        pairs = [pair for rule in rules for pair in rule.get("UserIdGroupPairs", [])]
        if group["GroupId"] != id and any(pair.get("GroupId") == id for pair in pairs):
            yield group["GroupId"]


@depends("ec2:DeleteSubnet", "DependencyViolation",
         "The subnet '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _subnet_users(strict: Backend, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("SubnetId")
    yield from _live_nat_gateways(strict, ec2, _where("subnet-id", id))
    yield from _instances(ec2, _where("subnet-id", id))
    yield from _enis(strict, ec2, _where("subnet-id", id))


@depends("ec2:DeleteVpc", "DependencyViolation",
         "The vpc '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _vpc_contents(strict: Backend, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("VpcId")
    in_vpc = _where("vpc-id", id)
    yield from (s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"])
    attached = ec2.describe_internet_gateways(Filters=_where("attachment.vpc-id", id))
    yield from (g["InternetGatewayId"] for g in attached["InternetGateways"])
    groups = ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    yield from (g["GroupId"] for g in groups if g["GroupName"] != "default")
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    for table in tables:  # the main one goes with the VPC
        if not any(a.get("Main") for a in table.get("Associations", [])):
            yield table["RouteTableId"]
    acls = ec2.describe_network_acls(Filters=in_vpc)["NetworkAcls"]
    yield from (a["NetworkAclId"] for a in acls if not a.get("IsDefault"))
    yield from _enis(strict, ec2, in_vpc)
    yield from _live_nat_gateways(strict, ec2, in_vpc)
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    yield from (e["VpcEndpointId"] for e in endpoints if e.get("State") != "deleted")
    egress = ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
    for gateway in egress:
        if any(a.get("VpcId") == id for a in gateway.get("Attachments", [])):
            yield gateway["EgressOnlyInternetGatewayId"]


@depends("ec2:DeleteInternetGateway", "DependencyViolation",
         "The internetGateway '{id}' has dependencies and cannot be deleted.")  # fmt: skip
def _gateway_attachments(strict: Backend, request: Request) -> Iterator[str]:
    id = request.param("InternetGatewayId")
    gateways = _ec2(strict, request).describe_internet_gateways(
        Filters=_where("internet-gateway-id", id)
    )["InternetGateways"]
    yield from (a["VpcId"] for g in gateways for a in g.get("Attachments", []))


@depends("ec2:DetachInternetGateway", "DependencyViolation",
         "Network {what} has some mapped public address(es). Please unmap those public "
         "address(es) before detaching the gateway.")  # fmt: skip
def _mapped_addresses(strict: Backend, request: Request) -> Iterator[str]:
    ec2, vpc = _ec2(strict, request), request.param("VpcId")
    if _live_nat_gateways(strict, ec2, _where("vpc-id", vpc)):
        yield vpc
        return
    leftovers = _moto_leftovers(strict, ec2)
    for address in ec2.describe_addresses()["Addresses"]:
        eni = address.get("NetworkInterfaceId")
        if address.get("AssociationId") and eni and eni not in leftovers:
            interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
            if any(i.get("VpcId") == vpc for i in interfaces["NetworkInterfaces"]):
                yield vpc
                return


@depends("ec2:ReleaseAddress", "InvalidIPAddress.InUse", "Address {id} is in use.")
def _address_users(strict: Backend, request: Request) -> Iterator[str]:
    ec2, id = _ec2(strict, request), request.param("AllocationId")
    try:
        addresses = ec2.describe_addresses(AllocationIds=[id])["Addresses"]
    except Exception:
        return  # not found: moto answers that itself
    leftovers = _moto_leftovers(strict, ec2)
    for address in addresses:  # a live NAT gateway's address is associated with its interface
        if address.get("AssociationId") and address.get("NetworkInterfaceId") not in leftovers:
            yield address["AssociationId"]


@depends("ec2:DisassociateAddress", "InvalidIPAddress.InUse",
         "Address {id} is used by NAT gateway {what}: it is released when the gateway is "
         "deleted.")  # fmt: skip
def _nat_address(strict: Backend, request: Request) -> Iterator[str]:
    """A NAT gateway's address cannot be taken from it (moto lets it go)."""
    ec2, association = _ec2(strict, request), request.param("AssociationId")
    live = set(_live_nat_gateways(strict, ec2, []))
    for gateway in ec2.describe_nat_gateways()["NatGateways"]:
        addresses = gateway.get("NatGatewayAddresses", [])
        if gateway["NatGatewayId"] in live and any(
            a.get("AssociationId") == association for a in addresses
        ):
            yield gateway["NatGatewayId"]


@depends("ec2:DeleteVolume", "VolumeInUse", "Volume {id} is currently attached to {what}")
def _volume_attachments(strict: Backend, request: Request) -> Iterator[str]:
    id = request.param("VolumeId")
    try:
        volumes = _ec2(strict, request).describe_volumes(VolumeIds=[id])["Volumes"]
    except Exception:
        return
    yield from (a["InstanceId"] for v in volumes for a in v.get("Attachments", []))


# IAM: DeleteConflict until what hangs on the entity is gone. (Virtual MFA devices and
# service-specific credentials: moto does not implement listing them.)

USER_DEPENDENTS = (
    ("list_access_keys", "AccessKeyMetadata", "delete access keys"),
    ("list_user_policies", "PolicyNames", "delete policies"),
    ("list_attached_user_policies", "AttachedPolicies", "detach all policies"),
    ("list_groups_for_user", "Groups", "remove users from group"),
    ("list_mfa_devices", "MFADevices", "delete MFA device"),
    ("list_ssh_public_keys", "SSHPublicKeys", "delete SSH public keys"),
    ("list_signing_certificates", "Certificates", "delete signing certificates"),
)
ROLE_DEPENDENTS = (
    ("list_instance_profiles_for_role", "InstanceProfiles", "remove roles from instance profile"),
    ("list_role_policies", "PolicyNames", "delete policies"),
    ("list_attached_role_policies", "AttachedPolicies", "detach all policies"),
)


def _iam_dependents(
    strict: Backend, table: tuple[tuple[str, str, str], ...], **owner: str
) -> Iterator[str]:
    iam = strict.moto("iam")
    for operation, key, what in table:
        try:
            if getattr(iam, operation)(**owner).get(key):
                yield what
        except Exception:
            return  # not found: moto answers that itself


@depends("iam:DeleteUser", "DeleteConflict", "Cannot delete entity, must {what} first.")
def _user_dependents(strict: Backend, request: Request) -> Iterator[str]:
    name = request.param("UserName")
    yield from _iam_dependents(strict, USER_DEPENDENTS, UserName=name)
    try:
        strict.moto("iam").get_login_profile(UserName=name)
    except Exception:
        return
    yield "delete login profile"


@depends("iam:DeleteRole", "DeleteConflict", "Cannot delete entity, must {what} first.")
def _role_dependents(strict: Backend, request: Request) -> Iterator[str]:
    yield from _iam_dependents(strict, ROLE_DEPENDENTS, RoleName=request.param("RoleName"))


@depends("iam:DeleteInstanceProfile", "DeleteConflict",
         "Cannot delete entity, must remove roles from instance profile first.")  # fmt: skip
def _profile_roles(strict: Backend, request: Request) -> Iterator[str]:
    name = request.param("InstanceProfileName")
    try:
        profile = strict.moto("iam").get_instance_profile(InstanceProfileName=name)
    except Exception:
        return
    yield from (role["RoleName"] for role in profile["InstanceProfile"]["Roles"])


@depends("iam:DeletePolicy", "DeleteConflict", "Cannot delete a policy attached to entities "
         "or with non-default versions ({what}).")  # fmt: skip
def _policy_users(strict: Backend, request: Request) -> Iterator[str]:
    iam, arn = strict.moto("iam"), request.param("PolicyArn")
    try:
        entities = iam.list_entities_for_policy(PolicyArn=arn)
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    except Exception:
        return
    for key, field_name in (("PolicyUsers", "UserName"), ("PolicyRoles", "RoleName"),
                            ("PolicyGroups", "GroupName")):  # fmt: skip
        yield from (entity[field_name] for entity in entities.get(key, []))
    yield from (v["VersionId"] for v in versions if not v["IsDefaultVersion"])
    yield from (name for name, _ in bounded_roles(strict, arn))  # as a boundary: moto lets go
