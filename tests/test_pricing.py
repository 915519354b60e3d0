"""The price table and its rules: every priced type, unpriced never $0, regions, the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labrun.plan import PlannedResource
from labrun.prices import load_table
from labrun.pricing import RULES, price, priced_types

TABLE = load_table()
HOURS = 730.0
GP3_8GB = 8 * 0.08 / HOURS  # the root volume assumed when the plan does not say
IPV4 = 0.005  # a public IPv4 address's hour, the same in every region
BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "price_plan.py"


def res(rtype: str, region: str | None = "us-east-1", **values: Any) -> PlannedResource:
    return PlannedResource(f"{rtype}.x", rtype, values, {}, region)


def entries(section: str) -> list[str]:
    return [k for k in TABLE.section(section) if not k.startswith("_")]


# One resource of every type labrun prices: a type added to the table or the rules without
# a sample here fails test_every_priced_type_has_a_sample.
SAMPLES: dict[str, PlannedResource] = {
    "aws_instance": res("aws_instance", instance_type="t3.micro"),
    "aws_ebs_volume": res("aws_ebs_volume", size=10, type="gp3"),
    "aws_lb": res("aws_lb"),
    "aws_alb": res("aws_alb", load_balancer_type="application"),
    "aws_vpc_endpoint": res("aws_vpc_endpoint", vpc_endpoint_type="Interface"),
    "aws_db_instance": res("aws_db_instance", engine="mysql", instance_class="db.t3.micro"),
    "aws_rds_cluster_instance": res(
        "aws_rds_cluster_instance", engine="aurora-mysql", instance_class="db.t3.medium"
    ),
    "aws_eks_node_group": res("aws_eks_node_group"),
    "aws_sagemaker_notebook_instance": res(
        "aws_sagemaker_notebook_instance", instance_type="ml.t3.medium"
    ),
    "aws_sagemaker_endpoint_configuration": res(
        "aws_sagemaker_endpoint_configuration",
        production_variants=[{"instance_type": "ml.m5.large", "initial_instance_count": 1}],
    ),
    "aws_dynamodb_table": res("aws_dynamodb_table", billing_mode="PAY_PER_REQUEST"),
    "aws_lambda_function": res("aws_lambda_function"),
    **{t: res(t) for t in entries("flat_hourly") + entries("flat_monthly") + entries("usage")},
    **{t: res(t) for t in TABLE.section("free")["types"]},
}


def test_the_table_says_where_its_prices_come_from_and_when() -> None:
    about = TABLE.about
    assert "aws.amazon.com" in about["source"] and about["as_of"]
    assert about["base_region"] == "us-east-1" and about["hours_per_month"] == HOURS
    assert TABLE.multiplier("us-east-1") == 1.0


@pytest.mark.parametrize("resource_type", sorted(priced_types()))
def test_every_priced_type_has_a_sample_and_a_price(resource_type: str) -> None:
    found = price(SAMPLES[resource_type])
    assert found.priced, found.note
    free = TABLE.free_note(resource_type) is not None
    assert (found.hourly_usd == 0.0) == free
    assert found.note


EC2_TYPES = [
    f"{family}.{size}" for family in entries("ec2") for size in TABLE.section("ec2")[family]
]


@pytest.mark.parametrize("instance_type", EC2_TYPES)
def test_every_ec2_instance_type_is_priced_with_its_root_volume(instance_type: str) -> None:
    found = price(res("aws_instance", instance_type=instance_type, subnet_id="subnet-1"))
    assert found.hourly_usd == pytest.approx(TABLE.ec2_hourly(instance_type) + GP3_8GB)
    assert instance_type in found.note


def test_gpu_families_are_in_the_table() -> None:
    assert {"g4dn", "g5", "g6", "p3", "p4d"} <= set(entries("ec2"))
    g4dn = res("aws_instance", instance_type="g4dn.xlarge", subnet_id="subnet-1")
    assert price(g4dn).hourly_usd == pytest.approx(0.526 + GP3_8GB)


def test_an_instance_pays_for_its_root_volume_and_public_address() -> None:
    root = [{"volume_size": 100, "volume_type": "gp2"}]
    found = price(res("aws_instance", instance_type="t3.micro", root_block_device=root,
                      associate_public_ip_address=True))  # fmt: skip
    assert found.hourly_usd == pytest.approx(0.0104 + 100 * 0.10 / HOURS + 0.005)


@pytest.mark.parametrize("volume_type", sorted(TABLE.section("ebs")["gb_month"]))
def test_every_ebs_volume_type_is_priced_per_gb_month(volume_type: str) -> None:
    found = price(res("aws_ebs_volume", size=100, type=volume_type))
    per_gb = TABLE.section("ebs")["gb_month"][volume_type]
    assert found.hourly_usd == pytest.approx(100 * per_gb / HOURS)


def test_provisioned_iops_and_throughput_are_priced_above_what_the_type_includes() -> None:
    io2 = price(res("aws_ebs_volume", size=100, type="io2", iops=1000))
    assert io2.hourly_usd == pytest.approx((100 * 0.125 + 1000 * 0.065) / HOURS)
    gp3 = price(res("aws_ebs_volume", size=100, type="gp3", iops=4000, throughput=225))
    assert gp3.hourly_usd == pytest.approx((100 * 0.08 + 1000 * 0.005 + 100 * 0.04) / HOURS)
    assert not price(res("aws_ebs_volume", type="gp3")).priced  # size unknown: unpriced


RDS = [(engine, cls) for engine in entries("rds") for cls in TABLE.section("rds")[engine]]


@pytest.mark.parametrize(("engine", "instance_class"), RDS)
def test_every_rds_class_is_priced_by_engine(engine: str, instance_class: str) -> None:
    rate = TABLE.section("rds")[engine][instance_class]
    single = price(res("aws_db_instance", engine=engine, instance_class=instance_class,
                       allocated_storage=20))  # fmt: skip
    assert single.hourly_usd == pytest.approx(rate + 20 * 0.115 / HOURS)
    multi = price(res("aws_db_instance", engine=engine, instance_class=instance_class,
                      allocated_storage=20, multi_az=True))  # fmt: skip
    assert multi.hourly_usd == pytest.approx(2 * single.hourly_usd)  # type: ignore[operator]
    member = price(res("aws_rds_cluster_instance", engine=engine, instance_class=instance_class))
    assert member.hourly_usd == pytest.approx(rate)


def test_an_engine_the_table_does_not_know_is_unpriced() -> None:
    found = price(res("aws_db_instance", engine="oracle-se2", instance_class="db.m5.large"))
    assert not found.priced and "oracle-se2" in found.note


@pytest.mark.parametrize("instance_type", entries("sagemaker_notebook"))
def test_every_notebook_type_is_priced_with_its_storage(instance_type: str) -> None:
    found = price(res("aws_sagemaker_notebook_instance", instance_type=instance_type))
    rate = TABLE.section("sagemaker_notebook")[instance_type]
    assert found.hourly_usd == pytest.approx(rate + 5 * 0.14 / HOURS)


@pytest.mark.parametrize("instance_type", entries("sagemaker_endpoint"))
def test_every_endpoint_type_is_priced_per_instance(instance_type: str) -> None:
    variants = [{"instance_type": instance_type, "initial_instance_count": 2}]
    found = price(res("aws_sagemaker_endpoint_configuration", production_variants=variants))
    assert found.hourly_usd == pytest.approx(2 * TABLE.section("sagemaker_endpoint")[instance_type])


def test_a_serverless_endpoint_is_priced_under_its_usage_assumption() -> None:
    variants = [{"serverless_config": [{"memory_size_in_mb": 2048}]}]
    found = price(res("aws_sagemaker_endpoint_configuration", production_variants=variants))
    assert found.hourly_usd == pytest.approx(1000 * 1 * 2 * 0.00002)
    assert price(res("aws_sagemaker_endpoint")).hourly_usd == 0.0  # priced on its configuration


@pytest.mark.parametrize("kind", ["application", "network", "gateway"])
def test_every_load_balancer_type_is_priced_with_one_capacity_unit(kind: str) -> None:
    rates = TABLE.section("load_balancers")[kind]
    found = price(res("aws_lb", load_balancer_type=kind, internal=True))
    assert found.hourly_usd == pytest.approx(rates["hourly"] + rates["capacity_unit_hourly"])


def test_flat_types_are_priced_by_the_hour_or_the_month() -> None:
    assert price(res("aws_nat_gateway")).hourly_usd == pytest.approx(0.045)
    assert price(res("aws_eks_cluster")).hourly_usd == pytest.approx(0.10)
    assert price(res("aws_kms_key")).hourly_usd == pytest.approx(1.0 / HOURS)


@pytest.mark.parametrize("resource_type", entries("usage"))
def test_usage_priced_types_state_their_assumption(resource_type: str) -> None:
    usage = TABLE.section("usage")[resource_type]
    expected = sum(
        i["unit_usd"] * i["quantity"] / (HOURS if i["per"] == "month" else 1)
        for i in usage["items"]
    )
    found = price(res(resource_type))
    assert found.hourly_usd == pytest.approx(expected) and found.hourly_usd > 0
    assert usage["assumption"] in found.note


def test_s3_under_its_assumption() -> None:
    # 1 GB-month + 1,000 PUT + 10,000 GET per hour
    assert price(res("aws_s3_bucket")).hourly_usd == pytest.approx(0.023 / HOURS + 0.005 + 0.004)


def test_dynamodb_on_demand_and_provisioned() -> None:
    storage = 0.25 / HOURS
    on_demand = price(res("aws_dynamodb_table", billing_mode="PAY_PER_REQUEST"))
    assert on_demand.hourly_usd == pytest.approx(10_000 * 0.625e-6 + 100_000 * 0.125e-6 + storage)
    provisioned = price(res("aws_dynamodb_table", billing_mode="PROVISIONED", read_capacity=10,
                            write_capacity=5))  # fmt: skip
    assert provisioned.hourly_usd == pytest.approx(5 * 0.00065 + 10 * 0.00013 + storage)


def test_lambda_by_memory_and_architecture() -> None:
    x86 = price(res("aws_lambda_function", memory_size=1024))
    assert x86.hourly_usd == pytest.approx(10_000 * 0.2e-6 + 10_000 * 1 * 1.0 * 0.0000166667)
    arm = price(res("aws_lambda_function", memory_size=1024, architectures=["arm64"]))
    assert arm.hourly_usd < x86.hourly_usd  # type: ignore[operator]


def test_eks_node_groups_count_their_nodes() -> None:
    found = price(res("aws_eks_node_group", instance_types=["m5.large"],
                      scaling_config=[{"desired_size": 3}], disk_size=20))  # fmt: skip
    assert found.hourly_usd == pytest.approx(3 * (0.096 + 20 * 0.10 / HOURS))


def test_vpc_endpoints_gateway_free_interface_per_zone() -> None:
    assert price(res("aws_vpc_endpoint", vpc_endpoint_type="Gateway")).hourly_usd == 0.0
    found = price(res("aws_vpc_endpoint", vpc_endpoint_type="Interface", subnet_ids=["a", "b"]))
    assert found.hourly_usd == pytest.approx(0.02)


@pytest.mark.parametrize(
    "resource_type", ["terraform_data", "null_resource", "random_pet", "docker_container",
                      "local_file", "aws_iam_role", "aws_vpc", "aws_security_group"],
)  # fmt: skip
def test_free_types_are_priced_zero_explicitly(resource_type: str) -> None:
    found = price(res(resource_type))
    assert found.priced and found.hourly_usd == 0.0 and found.note


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        (res("aws_opensearch_domain"), "not in labrun's price table"),
        (res("google_compute_instance", None), "not in labrun's price table"),
        (res("aws_instance", instance_type="x2iedn.xlarge"), "x2iedn.xlarge"),
        (res("aws_instance", instance_type="t3.micro", root_block_device=[
            {"volume_type": "magnetic-ish"}]), "root volume type"),
        (res("aws_lb", load_balancer_type="classic"), "load balancer type"),
        (res("aws_nat_gateway", "eu-central-2"), "no prices for region eu-central-2"),
        (res("aws_lambda_function", architectures=["riscv"]), "architecture"),
    ],
)  # fmt: skip
def test_what_the_table_does_not_know_is_unpriced_never_zero(
    resource: PlannedResource, why: str
) -> None:
    found = price(resource)
    assert found.hourly_usd is None and not found.priced
    assert why in found.note


def test_other_regions_use_their_documented_multiplier() -> None:
    base = price(res("aws_instance", instance_type="m5.large", subnet_id="s")).hourly_usd
    frankfurt = price(res("aws_instance", "eu-central-1", instance_type="m5.large", subnet_id="s"))
    assert frankfurt.hourly_usd == pytest.approx(base * 1.198)  # type: ignore[operator]
    assert "eu-central-1: us-east-1 x 1.198" in frankfurt.note
    unknown = price(res("aws_instance", None, instance_type="m5.large", subnet_id="s"))
    assert unknown.hourly_usd == base and "region unknown" in unknown.note


def test_the_rules_cover_what_the_issue_lists() -> None:
    listed = {
        "aws_instance", "aws_ebs_volume", "aws_nat_gateway", "aws_lb", "aws_db_instance",
        "aws_eks_cluster", "aws_sagemaker_notebook_instance",
        "aws_sagemaker_endpoint_configuration", "aws_s3_bucket", "aws_sqs_queue",
        "aws_dynamodb_table", "aws_cloudwatch_log_group", "aws_ecr_repository",
        "aws_lambda_function", "aws_iam_role", "aws_security_group", "aws_vpc", "aws_subnet",
        "aws_route_table",
    }  # fmt: skip
    assert listed <= priced_types()
    assert set(RULES) <= priced_types()


def test_the_benchmark_prices_a_plan_and_prints_its_figures() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--runs", "1", "--resources", "60", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["resources"] == 60 and result["unpriced"] == 0
    assert result["target_seconds"] == 1.0 and result["verdict"] in ("PASS", "FAIL")
    assert set(result["cli"]) >= {"median", "min", "max", "samples"}


# Issue 14: the corrected prices, each with its source and date in the price file.


def test_every_correction_names_its_source_and_date_and_matches_the_table() -> None:
    corrections = {c["entry"]: c for c in TABLE.data["corrections"]}
    assert {
        "ec2.p4d.24xlarge", "public_ipv4.hourly", "eks_extended_support.hourly",
        "rds_extended_support.vcpu_hourly_year_1_2", "region_multipliers",
    } <= set(corrections)  # fmt: skip
    for entry in corrections.values():
        assert "aws.amazon.com" in entry["source"] and entry["as_of"], entry
    assert corrections["ec2.p4d.24xlarge"]["now"] == TABLE.ec2_hourly("p4d.24xlarge")


def test_p4d_is_at_its_price_since_june_2025() -> None:
    found = price(res("aws_instance", instance_type="p4d.24xlarge", subnet_id="subnet-1"))
    assert found.hourly_usd == pytest.approx(21.9576 + GP3_8GB)


def test_a_default_vpc_instance_pays_for_the_public_ipv4_aws_assigns_it() -> None:
    default_vpc = price(res("aws_instance", instance_type="t3.micro"))
    assert default_vpc.hourly_usd == pytest.approx(0.0104 + GP3_8GB + IPV4)
    assert "default-VPC subnet assigns one by default" in default_vpc.note
    # In a subnet the module names, or with the address turned off, none is counted.
    named = res("aws_instance", instance_type="t3.micro", subnet_id="subnet-1")
    computed = PlannedResource("i.x", "aws_instance", {"instance_type": "t3.micro"},
                               {"subnet_id": True}, "us-east-1")  # fmt: skip
    off = res("aws_instance", instance_type="t3.micro", associate_public_ip_address=False)
    for resource in (named, computed, off):
        assert price(resource).hourly_usd == pytest.approx(0.0104 + GP3_8GB), resource
    asked = res("aws_instance", instance_type="t3.micro", subnet_id="s",
                associate_public_ip_address=True)  # fmt: skip
    assert price(asked).hourly_usd == pytest.approx(0.0104 + GP3_8GB + IPV4)


@pytest.mark.parametrize("kind", ["application", "network"])
def test_an_internet_facing_load_balancer_pays_for_its_public_ipv4_addresses(kind: str) -> None:
    rates = TABLE.section("load_balancers")[kind]
    hour = rates["hourly"] + rates["capacity_unit_hourly"]
    two_zones = price(res("aws_lb", load_balancer_type=kind))
    assert two_zones.hourly_usd == pytest.approx(hour + 2 * IPV4)  # at least two
    assert "2 public IPv4 (internet-facing)" in two_zones.note
    three = price(res("aws_lb", load_balancer_type=kind, subnets=["a", "b", "c"]))
    assert three.hourly_usd == pytest.approx(hour + 3 * IPV4)
    internal = price(res("aws_lb", load_balancer_type=kind, internal=True))
    assert internal.hourly_usd == pytest.approx(hour)


def test_eks_extended_support_is_priced_with_a_note() -> None:
    old = price(res("aws_eks_cluster", version="1.23"))
    assert old.hourly_usd == pytest.approx(0.60)
    assert "extended support since 2023-10-11" in old.note
    older = price(res("aws_eks_cluster", version="1.19"))  # older than the table: ended too
    assert older.hourly_usd == pytest.approx(0.60)
    pinned = price(res("aws_eks_cluster", version="1.23",
                       upgrade_policy=[{"support_type": "STANDARD"}]))  # fmt: skip
    assert pinned.hourly_usd == pytest.approx(0.10)
    for newest in (res("aws_eks_cluster"), res("aws_eks_cluster", version="1.99")):
        assert price(newest).hourly_usd == pytest.approx(0.10)


def test_rds_extended_support_is_priced_per_vcpu_with_a_note() -> None:
    rate = TABLE.section("rds")["mysql"]["db.m5.large"]
    storage = 20 * 0.115 / HOURS
    current = price(res("aws_db_instance", engine="mysql", instance_class="db.m5.large",
                        engine_version="8.4.3", allocated_storage=20))  # fmt: skip
    assert current.hourly_usd == pytest.approx(rate + storage)
    old = price(res("aws_db_instance", engine="mysql", instance_class="db.m5.large",
                    engine_version="5.7.44", allocated_storage=20))  # fmt: skip
    assert old.hourly_usd == pytest.approx(rate + storage + 2 * 0.200)  # third year: x2
    assert "Extended Support (mysql 5.7 since 2024-02-29: 2 vCPU" in old.note
    opt_out = "open-source-rds-extended-support-disabled"
    opted_out = price(res("aws_db_instance", engine="mysql", instance_class="db.m5.large",
                          engine_version="5.7.44", allocated_storage=20,
                          engine_lifecycle_support=opt_out))  # fmt: skip
    assert opted_out.hourly_usd == pytest.approx(rate + storage)
    member = price(res("aws_rds_cluster_instance", engine="aurora-postgresql",
                       instance_class="db.r6g.large", engine_version="12.9"))  # fmt: skip
    assert "Extended Support (aurora-postgresql 12" in member.note


def test_the_region_multiplier_spares_what_costs_the_same_everywhere() -> None:
    assert price(res("aws_eip", "sa-east-1")).hourly_usd == pytest.approx(0.005)
    assert price(res("aws_eks_cluster", "eu-central-1")).hourly_usd == pytest.approx(0.10)
    frankfurt = price(res("aws_instance", "eu-central-1", instance_type="m5.large"))
    assert frankfurt.hourly_usd == pytest.approx((0.096 + GP3_8GB) * 1.198 + IPV4)
    assert price(res("aws_nat_gateway", "eu-central-1")).hourly_usd == pytest.approx(0.045 * 1.198)
