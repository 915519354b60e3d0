"""The parts of a lab's VPC beyond its subnets and gateways: route tables, network ACLs,
network interfaces, VPC endpoints and egress-only internet gateways.

A VPC cannot be deleted while any of them is left, and each holds something else: an
endpoint's interfaces hold subnets and security groups, a route table or network ACL
its subnet associations. A VPC's main route table and default network ACL are never
candidates (AWS deletes them with their VPC), nor anything of a default VPC.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labrun.sweep.aws_types import (
    AwsType,
    Client,
    Listed,
    arn_pattern,
    described,
    gone_ok,
    moment,
    pages,
    released_by_aws,
    resource,
    tag_dict,
    wait_for_shutdowns,
)
from labrun.sweep.aws_wait import wait_until_gone

GONE_ENDPOINT_STATES = {"deleting", "deleted", "Deleting", "Deleted"}  # AWS mixes cases


@resource("aws:ec2:vpc-endpoint")
class VpcEndpoint(AwsType):
    service = "ec2"
    order = 15  # its network interfaces hold subnets and security groups
    arn = arn_pattern("ec2", "vpc-endpoint/(?P<id>.+)")
    tagging_api = False  # deleted endpoints stay listed (state "deleted") for a while

    def list_all(self, client: Client) -> Iterator[Listed]:
        for endpoint in pages(client, "describe_vpc_endpoints", "VpcEndpoints"):
            if endpoint.get("State") not in GONE_ENDPOINT_STATES:
                tags = tag_dict(endpoint.get("Tags", []))
                created = moment(endpoint.get("CreationTimestamp"))
                yield Listed(endpoint["VpcEndpointId"], created, tags)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_vpc_endpoints, VpcEndpointIds=[id])
        endpoints = answer["VpcEndpoints"] if answer else []
        return any(e.get("State") not in GONE_ENDPOINT_STATES for e in endpoints)

    def delete(self, client: Client, id: str) -> None:
        answer = client.delete_vpc_endpoints(VpcEndpointIds=[id])
        for failure in answer.get("Unsuccessful", []):  # a batch call: errors come as data
            raise_item_error(failure.get("Error", {}), "DeleteVpcEndpoints")


def raise_item_error(error: dict[str, Any], operation: str) -> None:
    """Raise a batch call's per-item error as the call's own error would be raised."""
    from botocore.exceptions import ClientError

    body = {"Code": error.get("Code", ""), "Message": error.get("Message", "")}
    raise ClientError({"Error": body}, operation)


@resource("aws:ec2:network-interface")
class NetworkInterface(AwsType):
    """Interfaces made by the lab (not those AWS makes for its own services and releases
    itself: the subnet and security group deletes wait for those)."""

    service = "ec2"
    order = 35  # after the instances they may be attached to; before groups and subnets
    arn = arn_pattern("ec2", "network-interface/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for interface in pages(client, "describe_network_interfaces", "NetworkInterfaces"):
            if released_by_aws(interface):
                continue
            attachment = interface.get("Attachment", {})
            inside = None
            if attachment.get("DeleteOnTermination") and attachment.get("InstanceId"):
                inside = f"aws:ec2:instance {attachment['InstanceId']}"
            tags = tag_dict(interface.get("TagSet", []))
            yield Listed(interface["NetworkInterfaceId"], None, tags, inside=inside)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_network_interfaces, NetworkInterfaceIds=[id])
        return bool(answer and answer["NetworkInterfaces"])

    def delete(self, client: Client, id: str) -> None:
        interface = client.describe_network_interfaces(NetworkInterfaceIds=[id])
        attachment = interface["NetworkInterfaces"][0].get("Attachment", {})
        instance = attachment.get("InstanceId")
        if instance and attachment.get("Status") in ("attaching", "attached"):
            wait_for_shutdowns(client, [{"Name": "instance-id", "Values": [instance]}])
            gone_ok(client.detach_network_interface, AttachmentId=attachment["AttachmentId"])
            wait_until_gone(f"{id} to be detached", lambda: attached(client, id))
        client.delete_network_interface(NetworkInterfaceId=id)


def attached(ec2: Client, id: str) -> list[str]:
    """[id] while the interface is still attached (or detaching), else []."""
    interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=[id])["NetworkInterfaces"]
    return [id for i in interfaces if i.get("Status") != "available"]


@resource("aws:ec2:egress-only-internet-gateway")
class EgressOnlyInternetGateway(AwsType):
    service = "ec2"
    order = 45
    arn = arn_pattern("ec2", "egress-only-internet-gateway/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        operation, key = "describe_egress_only_internet_gateways", "EgressOnlyInternetGateways"
        for gateway in pages(client, operation, key):
            tags = tag_dict(gateway.get("Tags", []))
            yield Listed(gateway["EgressOnlyInternetGatewayId"], None, tags)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(
            client.describe_egress_only_internet_gateways, EgressOnlyInternetGatewayIds=[id]
        )
        return bool(answer and answer["EgressOnlyInternetGateways"])

    def delete(self, client: Client, id: str) -> None:
        client.delete_egress_only_internet_gateway(EgressOnlyInternetGatewayId=id)


@resource("aws:ec2:route-table")
class RouteTable(AwsType):
    service = "ec2"
    order = 42  # before the subnets it is associated with and its VPC
    arn = arn_pattern("ec2", "route-table/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for table in pages(client, "describe_route_tables", "RouteTables"):
            if not any(a.get("Main") for a in table.get("Associations", [])):
                tags = tag_dict(table.get("Tags", []))
                yield Listed(table["RouteTableId"], None, tags)

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_route_tables, RouteTableIds=[id])
        return bool(answer and answer["RouteTables"])

    def delete(self, client: Client, id: str) -> None:
        tables = client.describe_route_tables(RouteTableIds=[id])["RouteTables"]
        for association in tables[0].get("Associations", []):
            if not association.get("Main"):  # subnets and gateways (edge associations)
                association_id = association["RouteTableAssociationId"]
                gone_ok(client.disassociate_route_table, AssociationId=association_id)
        client.delete_route_table(RouteTableId=id)


@resource("aws:ec2:network-acl")
class NetworkAcl(AwsType):
    service = "ec2"
    order = 42
    arn = arn_pattern("ec2", "network-acl/(?P<id>.+)")
    tagging_api = False

    def list_all(self, client: Client) -> Iterator[Listed]:
        for acl in pages(client, "describe_network_acls", "NetworkAcls"):
            if not acl.get("IsDefault"):
                yield Listed(acl["NetworkAclId"], None, tag_dict(acl.get("Tags", [])))

    def exists(self, client: Client, id: str) -> bool:
        answer = described(client.describe_network_acls, NetworkAclIds=[id])
        return bool(answer and answer["NetworkAcls"])

    def delete(self, client: Client, id: str) -> None:
        """Its subnets go back to their VPC's default network ACL (a subnet always has
        one), then it goes."""
        acl = client.describe_network_acls(NetworkAclIds=[id])["NetworkAcls"][0]
        associations = acl.get("Associations", [])
        if associations:
            default = default_acl(client, acl["VpcId"])
            for association in associations:
                client.replace_network_acl_association(
                    AssociationId=association["NetworkAclAssociationId"], NetworkAclId=default
                )
        client.delete_network_acl(NetworkAclId=id)


def default_acl(ec2: Client, vpc: str) -> str:
    filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
    return str(ec2.describe_network_acls(Filters=filters)["NetworkAcls"][0]["NetworkAclId"])
