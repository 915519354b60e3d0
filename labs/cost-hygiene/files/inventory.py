"""Starter script: what of the lab's account costs money, and what does each thing cost?

Run it from your workspace, after `eval "$(labrun env)"` (that is how boto3 finds the lab's
cloud), as often as you like: it only reads, it never deletes anything.

    python3 inventory.py

It prints every instance, volume, elastic IP and NAT gateway of your session, with its
state, its Name and keep tags, and what it costs per hour (us-east-1 on-demand prices).
Deciding what to remove, and removing it, is your job.
"""

import os

import boto3

HOURS_PER_MONTH = 730
PRICES = {  # US dollars per hour (EBS: per GiB-month, divided by the hours of a month)
    "t3.micro": 0.0104,
    "gp3": 0.08 / HOURS_PER_MONTH,
    "gp2": 0.10 / HOURS_PER_MONTH,
    "elastic-ip": 0.005,
    "nat-gateway": 0.045,
}

ec2 = boto3.client("ec2")
session = os.environ["LABRUN_SESSION"]  # set by `eval "$(labrun env)"`
mine = [{"Name": "tag:labrun:session", "Values": [session]}]


def tags(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def show(kind, id, state, item, per_hour):
    t = tags(item)
    keep = "keep=true" if t.get("keep") == "true" else "-"
    print(f"{kind:12} {id:28} {state:10} {t.get('Name', '?'):22} {keep:9} ${per_hour:.4f}/h")


print(f"{'KIND':12} {'ID':28} {'STATE':10} {'NAME':22} {'KEEP':9} COST")
for reservation in ec2.describe_instances(Filters=mine)["Reservations"]:
    for i in reservation["Instances"]:
        state = i["State"]["Name"]
        running = state in ("pending", "running")
        cost = PRICES.get(i["InstanceType"], 0) if running else 0  # its disk: see the volumes
        show("instance", i["InstanceId"], state, i, cost)
for v in ec2.describe_volumes(Filters=mine)["Volumes"]:
    cost = v["Size"] * PRICES.get(v["VolumeType"], 0)
    show("volume", v["VolumeId"], v["State"], v, cost)
for a in ec2.describe_addresses(Filters=mine)["Addresses"]:
    state = "attached" if a.get("AssociationId") or a.get("NetworkInterfaceId") else "unattached"
    show("elastic-ip", a["AllocationId"], state, a, PRICES["elastic-ip"])
for n in ec2.describe_nat_gateways(Filters=mine)["NatGateways"]:
    cost = PRICES["nat-gateway"] if n["State"] in ("pending", "available") else 0
    show("nat-gateway", n["NatGatewayId"], n["State"], n, cost)
