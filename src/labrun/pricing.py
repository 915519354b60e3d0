"""Prices: what a planned resource costs per hour, from the price table shipped with labrun.

The numbers, their source and their date live in `data/prices.json` (read by prices.py);
this module holds the rules that read a resource's planned values (instance type, volume
size, engine...) and look its price up. Types that need no reading are priced from the
table alone: `free` ($0, explicitly), `flat_hourly`, `flat_monthly` and `usage` (under a
stated assumption). The others have a rule registered with `@rule("aws_...")`.

A type the table does not know is unpriced, never $0: its price is None with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from labrun.plan import PlannedResource
from labrun.prices import PriceTable, load_table


@dataclass(frozen=True)
class Price:
    """A resource's estimated cost per hour; `hourly_usd` is None when it is unpriced."""

    hourly_usd: float | None
    note: str = ""
    flat_usd: float = 0.0  # the part priced the same in every region (public IPv4, EKS)

    @property
    def priced(self) -> bool:
        return self.hourly_usd is not None


def unpriced(note: str) -> Price:
    return Price(None, note)


PriceRule = Callable[[PlannedResource, PriceTable], Price]
RULES: dict[str, PriceRule] = {}


def rule(*resource_types: str) -> Callable[[PriceRule], PriceRule]:
    """Register a price rule for these resource types (a decorator)."""

    def register(function: PriceRule) -> PriceRule:
        for name in resource_types:
            RULES[name] = function
        return function

    return register


def price(resource: PlannedResource, table: PriceTable | None = None) -> Price:
    """The resource's hourly price in its region; unpriced when the table cannot tell."""
    table = table or load_table()
    free = table.free_note(resource.type)
    if free is not None:
        return Price(0.0, free)
    found = _base_price(resource, table)
    if not found.priced or not found.hourly_usd or not resource.is_aws:
        return found
    return _in_region(found, resource.region, table)


def priced_types(table: PriceTable | None = None) -> set[str]:
    """Every resource type the table and the rules price (free ones included)."""
    table = table or load_table()
    sections = ("flat_hourly", "flat_monthly", "usage")
    from_data = {k for s in sections for k in table.section(s) if not k.startswith("_")}
    return from_data | set(table.section("free")["types"]) | set(RULES)


def _base_price(resource: PlannedResource, table: PriceTable) -> Price:
    found = RULES.get(resource.type)
    if found is not None:
        return found(resource, table)
    flat = table.section("flat_hourly").get(resource.type)
    if flat is not None:
        usd = float(flat["usd"])
        return Price(usd, str(flat["note"]), usd if flat.get("region_independent") else 0.0)
    monthly = table.section("flat_monthly").get(resource.type)
    if monthly is not None:
        return Price(table.per_hour(float(monthly["usd"])), f"{monthly['note']}, per month")
    usage = table.section("usage").get(resource.type)
    if usage is not None:
        return _usage_price(usage, table)
    return unpriced(f"{resource.type} is not in labrun's price table")


def _in_region(found: Price, region: str | None, table: PriceTable) -> Price:
    base = str(table.about["base_region"])
    if region is None:
        return Price(found.hourly_usd, f"{found.note} (region unknown: {base} prices)")
    factor = table.multiplier(region)
    if factor is None:
        return unpriced(f"no prices for region {region}")
    if factor == 1.0 or found.hourly_usd is None or found.hourly_usd == found.flat_usd:
        return found
    scaled = (found.hourly_usd - found.flat_usd) * factor + found.flat_usd
    note = f"{found.note} ({region}: {base} x {factor:g}"
    note += ", public IPv4 and EKS at the same price everywhere)" if found.flat_usd else ")"
    return Price(scaled, note, found.flat_usd)


def _usage_price(usage: dict[str, Any], table: PriceTable) -> Price:
    hourly = 0.0
    for item in usage["items"]:
        cost = float(item["unit_usd"]) * float(item["quantity"])
        hourly += table.per_hour(cost) if item["per"] == "month" else cost
    return Price(hourly, f"usage assumed: {usage['assumption']}")


def _number(values: dict[str, Any], name: str, default: float) -> float:
    value = values.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _first_block(values: dict[str, Any], name: str) -> dict[str, Any]:
    blocks = values.get(name)
    return blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict) else {}


def ebs_hourly(table: PriceTable, volume_type: str, size_gb: float, iops: float = 0,
               throughput: float = 0) -> float | None:  # fmt: skip
    """An EBS volume's hour: storage, plus IOPS and throughput above what the type includes."""
    per_gb = table.number("ebs", "gb_month", volume_type)
    if per_gb is None:
        return None
    monthly = per_gb * size_gb
    iops_price = table.number("ebs", "iops_month", volume_type) or 0.0
    included = table.number("ebs", "included_iops", volume_type) or 0.0
    monthly += iops_price * max(0.0, iops - included)
    if volume_type == "gp3":
        extra = throughput - (table.number("ebs", "gp3_included_throughput_mbps") or 0.0)
        monthly += (table.number("ebs", "gp3_throughput_mbps_month") or 0.0) * max(0.0, extra)
    return table.per_hour(monthly)


@rule("aws_instance")
def _ec2_instance(resource: PlannedResource, table: PriceTable) -> Price:
    values = resource.values
    instance_type = str(values.get("instance_type"))
    hourly = table.ec2_hourly(instance_type)
    if hourly is None:
        return unpriced(f"instance type {instance_type} is not in labrun's price table")
    defaults = table.section("ec2_defaults")
    root = _first_block(values, "root_block_device")
    size = _number(root, "volume_size", float(defaults["root_volume_gb"]))
    volume_type = str(root.get("volume_type") or defaults["root_volume_type"])
    volume = ebs_hourly(table, volume_type, size, _number(root, "iops", 0),
                        _number(root, "throughput", 0))  # fmt: skip
    if volume is None:
        return unpriced(f"root volume type {volume_type} is not in labrun's price table")
    note = f"{instance_type} on-demand + {size:g} GB {volume_type} root volume"
    public = _instance_public_ipv4(resource)
    if public:
        note += f" + {public}"
        ipv4 = table.public_ipv4_hourly()
        return Price(hourly + volume + ipv4, note, ipv4)
    return Price(hourly + volume, note)


def _instance_public_ipv4(resource: PlannedResource) -> str:
    """Why the instance gets a public IPv4 address ("" when it does not).

    AWS assigns one by default in a default VPC's subnets (map_public_ip_on_launch): an
    instance with no subnet_id and no network_interface lands there. In a subnet the module
    names, only an explicit associate_public_ip_address = true is counted.
    """
    values = resource.values
    asked = values.get("associate_public_ip_address")
    if asked is True:
        return "public IPv4"
    if asked is False or values.get("network_interface"):
        return ""
    in_named_subnet = bool(values.get("subnet_id")) or not resource.known("subnet_id")
    return "" if in_named_subnet else "public IPv4 (a default-VPC subnet assigns one by default)"


@rule("aws_ebs_volume")
def _ebs_volume(resource: PlannedResource, table: PriceTable) -> Price:
    values = resource.values
    volume_type = str(values.get("type") or table.section("ebs")["default_type"])
    size = values.get("size")
    if not isinstance(size, int | float):
        return unpriced("volume size unknown at plan time")
    hourly = ebs_hourly(table, volume_type, float(size), _number(values, "iops", 0),
                        _number(values, "throughput", 0))  # fmt: skip
    if hourly is None:
        return unpriced(f"volume type {volume_type} is not in labrun's price table")
    return Price(hourly, f"{size:g} GB {volume_type}")


@rule("aws_lb", "aws_alb")
def _load_balancer(resource: PlannedResource, table: PriceTable) -> Price:
    kind = str(resource.values.get("load_balancer_type") or "application")
    rates = table.section("load_balancers").get(kind)
    if not isinstance(rates, dict):
        return unpriced(f"load balancer type {kind} is not in labrun's price table")
    units = float(table.section("load_balancers")["assumed_capacity_units"])
    hourly = float(rates["hourly"]) + units * float(rates["capacity_unit_hourly"])
    note = f"{kind} load balancer hour + {units:g} capacity unit assumed"
    addresses = _load_balancer_public_ipv4s(resource, kind, table)
    if not addresses:
        return Price(hourly, note)
    ipv4 = addresses * table.public_ipv4_hourly()
    return Price(hourly + ipv4, f"{note} + {addresses} public IPv4 (internet-facing)", ipv4)


def _load_balancer_public_ipv4s(resource: PlannedResource, kind: str, table: PriceTable) -> int:
    """An internet-facing ALB or NLB holds a public IPv4 address per zone, at least two."""
    if kind not in ("application", "network") or resource.values.get("internal") is True:
        return 0
    zones = max(
        _count(resource.values.get("subnets")), _count(resource.values.get("subnet_mapping"))
    )
    return max(zones, int(table.section("public_ipv4")["load_balancer_minimum"]))


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0


@rule("aws_vpc_endpoint")
def _vpc_endpoint(resource: PlannedResource, table: PriceTable) -> Price:
    if str(resource.values.get("vpc_endpoint_type") or "Gateway") == "Gateway":
        return Price(0.0, "gateway endpoints are free")
    subnets = resource.values.get("subnet_ids")
    zones = len(subnets) if isinstance(subnets, list) and subnets else 1
    per_zone = float(table.section("vpc_endpoint")["interface_hourly_per_az"])
    return Price(per_zone * zones, f"interface endpoint in {zones} availability zone(s)")


def rds_instance_hourly(table: PriceTable, engine: str, instance_class: str) -> float | None:
    return table.number("rds", engine, instance_class)


@rule("aws_db_instance")
def _db_instance(resource: PlannedResource, table: PriceTable) -> Price:
    values = resource.values
    engine, instance_class = str(values.get("engine")), str(values.get("instance_class"))
    hourly = rds_instance_hourly(table, engine, instance_class)
    if hourly is None:
        return unpriced(f"RDS {engine} {instance_class} is not in labrun's price table")
    storage = table.section("rds_storage_gb_month")
    storage_type = str(values.get("storage_type") or storage["default_type"])
    per_gb = float(storage.get(storage_type, storage[storage["default_type"]]))
    size = _number(values, "allocated_storage", float(storage["default_gb"]))
    hourly += table.per_hour(per_gb * size)
    extended, extended_note = _rds_extended_support(resource, table, engine, instance_class)
    copies = 2 if values.get("multi_az") is True else 1
    note = f"{engine} {instance_class} + {size:g} GB {storage_type}{extended_note}"
    return Price((hourly + extended) * copies, note + (", Multi-AZ" if copies == 2 else ""))


def _rds_extended_support(
    resource: PlannedResource, table: PriceTable, engine: str, instance_class: str
) -> tuple[float, str]:
    """RDS Extended Support's hour for a major version past its end of standard support
    (0 and no note otherwise, or when the module opts out with engine_lifecycle_support)."""
    values = resource.values
    if values.get("engine_lifecycle_support") == "open-source-rds-extended-support-disabled":
        return 0.0, ""
    section = table.section("rds_extended_support")
    major = rds_major_version(engine, str(values.get("engine_version") or ""))
    ended = (section["standard_support_end"].get(engine) or {}).get(major)
    if not ended or date.fromisoformat(ended) > today():
        return 0.0, ""
    third_year = (today() - date.fromisoformat(ended)).days >= 2 * 365
    rate = float(section["vcpu_hourly_year_3" if third_year else "vcpu_hourly_year_1_2"])
    vcpus = instance_vcpus(instance_class)
    note = f" + Extended Support ({engine} {major} since {ended}: {vcpus} vCPU x ${rate:g}/h)"
    return rate * vcpus, note


def rds_major_version(engine: str, version: str) -> str:
    """The major version Extended Support is decided by: "5.7" or "8.0" for MySQL, "12" for
    PostgreSQL, "2" for Aurora MySQL's 5.7.mysql_aurora.2.11.2."""
    if "mysql_aurora." in version:
        return version.split("mysql_aurora.")[1].split(".")[0]
    parts = version.split(".")
    return ".".join(parts[:2]) if engine in ("mysql", "mariadb") else parts[0]


def instance_vcpus(instance_class: str) -> int:
    """vCPUs of an instance class from its size (nano to large: 2; xlarge: 4; Nxlarge: 4N)."""
    size = instance_class.rsplit(".", 1)[-1]
    if size.endswith("xlarge"):
        factor = size[: -len("xlarge")]
        return 4 * (int(factor) if factor.isdigit() else 1)
    return 2


def today() -> date:
    return datetime.now(UTC).date()


@rule("aws_rds_cluster_instance")
def _rds_cluster_instance(resource: PlannedResource, table: PriceTable) -> Price:
    engine = str(resource.values.get("engine") or "aurora-postgresql")
    instance_class = str(resource.values.get("instance_class"))
    hourly = rds_instance_hourly(table, engine, instance_class)
    if hourly is None:
        return unpriced(f"RDS {engine} {instance_class} is not in labrun's price table")
    extended, extended_note = _rds_extended_support(resource, table, engine, instance_class)
    note = f"{engine} {instance_class} (storage priced on the cluster){extended_note}"
    return Price(hourly + extended, note)


@rule("aws_eks_cluster")
def _eks_cluster(resource: PlannedResource, table: PriceTable) -> Price:
    standard = table.section("flat_hourly")["aws_eks_cluster"]
    section = table.section("eks_extended_support")
    version = str(resource.values.get("version") or "")
    policy = _first_block(resource.values, "upgrade_policy")
    ended = _eks_standard_support_end(version, section["standard_support_end"])
    if ended is None or ended > today() or policy.get("support_type") == "STANDARD":
        usd = float(standard["usd"])
        return Price(usd, str(standard["note"]), usd)
    usd = float(section["hourly"])
    note = (f"EKS control plane on Kubernetes {version}, in extended support since {ended} "
            "(the same in every region); nodes are priced separately")  # fmt: skip
    return Price(usd, note, usd)


def _eks_standard_support_end(version: str, ends: dict[str, str]) -> date | None:
    """When `version`'s standard support ends: None when it is unknown (the newest is used)
    or newer than every version the table lists; versions older than the table have ended."""
    try:
        wanted = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return None
    known = sorted((tuple(int(p) for p in v.split(".")), date.fromisoformat(d))
                   for v, d in ends.items())  # fmt: skip
    if not known or len(wanted) != 2 or wanted > known[-1][0]:
        return None
    for listed, ended in known:
        if listed >= wanted:
            return ended if listed == wanted else known[0][1]
    return None


@rule("aws_eks_node_group")
def _eks_node_group(resource: PlannedResource, table: PriceTable) -> Price:
    defaults = table.section("eks_node_defaults")
    types = resource.values.get("instance_types") or [defaults["instance_type"]]
    nodes = _number(_first_block(resource.values, "scaling_config"), "desired_size", 1)
    per_node = table.ec2_hourly(str(types[0]))
    if per_node is None:
        return unpriced(f"instance type {types[0]} is not in labrun's price table")
    disk = _number(resource.values, "disk_size", float(defaults["disk_gb"]))
    per_node += ebs_hourly(table, str(defaults["disk_type"]), disk) or 0.0
    return Price(per_node * nodes, f"{nodes:g} x {types[0]} on-demand + {disk:g} GB disk each")


@rule("aws_sagemaker_notebook_instance")
def _notebook(resource: PlannedResource, table: PriceTable) -> Price:
    instance_type = str(resource.values.get("instance_type"))
    hourly = table.number("sagemaker_notebook", instance_type)
    if hourly is None:
        return unpriced(f"notebook type {instance_type} is not in labrun's price table")
    storage = table.section("sagemaker_storage")
    size = _number(resource.values, "volume_size", float(storage["default_notebook_gb"]))
    hourly += table.per_hour(float(storage["gb_month"]) * size)
    return Price(hourly, f"{instance_type} notebook + {size:g} GB ML storage")


@rule("aws_sagemaker_endpoint_configuration")
def _endpoint_configuration(resource: PlannedResource, table: PriceTable) -> Price:
    hourly, parts = 0.0, []
    for variant in resource.values.get("production_variants") or []:
        serverless = _first_block(variant, "serverless_config")
        if serverless:
            hourly += _serverless_hourly(serverless, table)
            parts.append("serverless (usage assumed)")
            continue
        instance_type = str(variant.get("instance_type"))
        rate = table.number("sagemaker_endpoint", instance_type)
        if rate is None:
            return unpriced(f"endpoint instance {instance_type} is not in labrun's price table")
        count = _number(variant, "initial_instance_count", 1)
        hourly += rate * count
        parts.append(f"{count:g} x {instance_type}")
    return Price(hourly, f"billed while an endpoint uses it: {', '.join(parts) or 'no variant'}")


def _serverless_hourly(config: dict[str, Any], table: PriceTable) -> float:
    section = table.section("sagemaker_serverless")
    assumed = section["assumption"]
    memory_gb = _number(config, "memory_size_in_mb", 1024) / 1024
    seconds = float(assumed["requests_per_hour"]) * float(assumed["seconds_each"])
    return seconds * memory_gb * float(section["gb_second_usd"])


@rule("aws_dynamodb_table")
def _dynamodb(resource: PlannedResource, table: PriceTable) -> Price:
    d = table.section("dynamodb")
    storage = table.per_hour(float(d["storage_gb_month"]) * float(d["stored_gb"]))
    if resource.values.get("billing_mode") == "PROVISIONED":
        wcu = _number(resource.values, "write_capacity", 0)
        rcu = _number(resource.values, "read_capacity", 0)
        p = d["provisioned"]
        hourly = wcu * float(p["wcu_hourly"]) + rcu * float(p["rcu_hourly"]) + storage
        return Price(hourly, f"provisioned {wcu:g} WCU, {rcu:g} RCU + {d['stored_gb']} GB assumed")
    o = d["on_demand"]
    requests = float(d["writes_per_hour"]) * float(o["write_request_usd"]) + float(
        d["reads_per_hour"]
    ) * float(o["read_request_usd"])
    return Price(requests + storage, f"on demand, usage assumed: {d['assumption']}")


@rule("aws_lambda_function")
def _lambda(resource: PlannedResource, table: PriceTable) -> Price:
    section = table.section("lambda")
    memory_gb = _number(resource.values, "memory_size", float(section["default_memory_mb"])) / 1024
    architectures = resource.values.get("architectures") or ["x86_64"]
    per_gb_second = section["gb_second_usd"].get(str(architectures[0]))
    if per_gb_second is None:
        return unpriced(f"Lambda architecture {architectures[0]} is not in labrun's price table")
    calls = float(section["invocations_per_hour"])
    compute = calls * float(section["seconds_each"]) * memory_gb * float(per_gb_second)
    hourly = calls * float(section["request_usd"]) + compute
    return Price(hourly, f"usage assumed: {section['assumption']}")
