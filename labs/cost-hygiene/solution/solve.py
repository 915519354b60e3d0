"""Reference solution of cost-hygiene: run with the session's env (eval "$(labrun env)").

    python3 solve.py [SESSION]

SESSION defaults to $LABRUN_SESSION.

Lists the session's resources by their labrun:session tag, and removes those that do not
carry keep=true, in the order their dependencies need: the NAT gateway (it holds an elastic
IP), the instances (they hold their root volumes), then the addresses and the volumes.
"""

import os
import sys
import time

import boto3

ec2 = boto3.client("ec2")
session = sys.argv[1] if len(sys.argv) > 1 else os.environ["LABRUN_SESSION"]
mine = [{"Name": "tag:labrun:session", "Values": [session]}]


def forgotten(items):
    """The items whose tags do not say keep=true."""
    for item in items:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        if tags.get("keep") != "true":
            yield item, tags.get("Name", "?")


# 1. The NAT gateway first: it holds an elastic IP until it is deleted.
live = {"Name": "state", "Values": ["pending", "available"]}
nats = ec2.describe_nat_gateways(Filters=[*mine, live])["NatGateways"]
for nat, name in forgotten(nats):
    print("deleting NAT gateway", name)
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
while ec2.describe_nat_gateways(Filters=[*mine, {**live, "Values": ["deleting"]}])["NatGateways"]:
    time.sleep(5)

# 2. The instances, running or stopped: terminated, not stopped.
states = {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
reservations = ec2.describe_instances(Filters=[*mine, states])["Reservations"]
doomed = []
for instance, name in forgotten(i for r in reservations for i in r["Instances"]):
    print("terminating instance", name)
    doomed.append(instance["InstanceId"])
if doomed:
    ec2.terminate_instances(InstanceIds=doomed)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=doomed)

# 3. The elastic IPs, the NAT gateway's included.
for address, name in forgotten(ec2.describe_addresses(Filters=mine)["Addresses"]):
    print("releasing elastic IP", name)
    ec2.release_address(AllocationId=address["AllocationId"])

# 4. The volumes left unattached (the terminated instances took their root volumes along).
unattached = {"Name": "status", "Values": ["available"]}
for volume, name in forgotten(ec2.describe_volumes(Filters=[*mine, unattached])["Volumes"]):
    print("deleting volume", name)
    ec2.delete_volume(VolumeId=volume["VolumeId"])
