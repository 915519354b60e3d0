"""Pricing a 500-resource plan document: `labrun plan --from-json` against a 1 s target.

Target (from the issue): pricing a 500-resource `terraform show -json` document takes under
1 s. The document is generated here: 500 resource changes cycling through the priced types
(EC2 instances with root volumes, EBS, load balancers, RDS, EKS, SageMaker, usage-priced
and free types), tagged through `tags_all`, in eu-west-1 by a provider variable (so the
region multiplier is applied), with the configuration section Terraform writes.

Two figures, medians after one warm-up: `labrun plan --from-json PLAN --json` as a whole
process (what a user or a pipeline waits for: Python start, imports, read, price, policy,
print), which the verdict uses; and the same work in this process (read + price + policy).

    .venv/bin/python benchmarks/price_plan.py [--runs 5] [--resources 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

TARGET_SECONDS = 1.0
TAGS = {
    "labrun:session": "bench",
    "labrun:lab": "bench",
    "labrun:owner": "bench",
    "labrun:expires-at": "2026-11-27T12:00:00Z",
}
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("aws_instance", {"instance_type": "t3.medium", "root_block_device": [{"volume_size": 20}]}),
    ("aws_instance", {"instance_type": "m5.large", "associate_public_ip_address": True}),
    ("aws_instance", {"instance_type": "g4dn.xlarge"}),
    ("aws_ebs_volume", {"size": 100, "type": "gp3", "iops": 4000, "throughput": 250}),
    ("aws_lb", {"load_balancer_type": "network"}),
    (
        "aws_db_instance",
        {
            "engine": "postgres",
            "instance_class": "db.t4g.micro",
            "allocated_storage": 20,
            "multi_az": True,
        },
    ),
    (
        "aws_eks_node_group",
        {"instance_types": ["t3.large"], "scaling_config": [{"desired_size": 2}]},
    ),
    ("aws_sagemaker_notebook_instance", {"instance_type": "ml.t3.medium"}),
    (
        "aws_sagemaker_endpoint_configuration",
        {"production_variants": [{"instance_type": "ml.m5.large", "initial_instance_count": 2}]},
    ),
    ("aws_s3_bucket", {}),
    ("aws_sqs_queue", {}),
    (
        "aws_dynamodb_table",
        {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 5},
    ),
    ("aws_lambda_function", {"memory_size": 256}),
    ("aws_cloudwatch_log_group", {}),
    ("aws_nat_gateway", {}),
    ("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface", "subnet_ids": ["a", "b"]}),
    ("aws_security_group", {}),
    ("aws_subnet", {}),
    ("aws_iam_role", {}),
    ("terraform_data", {}),
]


def plan_document(count: int) -> dict[str, Any]:
    """A plan of `count` resource instances, as `terraform show -json` prints one."""
    changes, config = [], []
    for i in range(count):
        rtype, values = TEMPLATES[i % len(TEMPLATES)]
        name = f"r{i // len(TEMPLATES)}"
        after = dict(values)
        if rtype.startswith("aws_") and rtype != "aws_iam_role":
            after["tags"], after["tags_all"] = None, dict(TAGS)
        changes.append(
            {
                "address": f"{rtype}.{name}",
                "mode": "managed",
                "type": rtype,
                "name": name,
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": after,
                    "after_unknown": {"id": True, "arn": True},
                },
            }
        )
        config.append(
            {
                "address": f"{rtype}.{name}",
                "mode": "managed",
                "type": rtype,
                "name": name,
                "provider_config_key": "aws",
            }
        )
    providers = {"aws": {"name": "aws", "expressions": {"region": {"references": ["var.region"]}}}}
    return {
        "format_version": "1.2",
        "terraform_version": "1.15.5",
        "variables": {"region": {"value": "eu-west-1"}},
        "resource_changes": changes,
        "configuration": {"provider_config": providers, "root_module": {"resources": config}},
    }


def in_process(path: Path) -> tuple[float, dict[str, Any]]:
    from labrun import estimate
    from labrun.plan import load_plan_file

    started = time.perf_counter()
    found = estimate.of_document(load_plan_file(path), timedelta(hours=2)).to_json()
    return time.perf_counter() - started, found


def whole_process(path: Path, home: Path) -> float:
    env = {**os.environ, "LABRUN_HOME": str(home)}
    command = [sys.executable, "-m", "labrun", "plan", "--from-json", str(path), "--json"]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: the plan has violations (it does: GPUs, NAT)
        raise RuntimeError(f"labrun plan exited {proc.returncode}: {proc.stderr.strip()}")
    return seconds


def measure(runs: int, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-price-") as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(plan_document(count)))
        home = Path(tmp) / "home"
        whole_process(path, home)  # warm-up
        in_process(path)
        cli = [whole_process(path, home) for _ in range(runs)]
        inner = [in_process(path)[0] for _ in range(runs)]
        _, result = in_process(path)
    median = statistics.median(cli)
    return {
        "benchmark": "price_plan",
        "resources": len(result["resources"]),
        "unpriced": len(result["unpriced"]),
        "violations": len(result["violations"]),
        "hourly_usd": result["hourly_usd"],
        "runs": runs,
        "cli": {
            "median": round(median, 4),
            "min": round(min(cli), 4),
            "max": round(max(cli), 4),
            "samples": [round(s, 4) for s in cli],
        },
        "in_process": {
            "median": round(statistics.median(inner), 4),
            "min": round(min(inner), 4),
            "max": round(max(inner), 4),
        },
        "target_seconds": TARGET_SECONDS,
        "verdict": "PASS" if median < TARGET_SECONDS else "FAIL",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (default 5)")
    parser.add_argument("--resources", type=int, default=500, help="plan size (default 500)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.resources < 1:
        parser.error("--runs and --resources must be at least 1")
    try:
        result = measure(args.runs, args.resources)
    except RuntimeError as exc:
        print(f"price_plan: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    cli, inner = result["cli"], result["in_process"]
    print(f"labrun plan --from-json, {result['resources']} resources, {args.runs} runs:")
    print(
        f"  whole process: median {cli['median']:.3f}s (min {cli['min']:.3f}, max {cli['max']:.3f})"
    )
    print(f"  read + price + policy in process: median {inner['median']:.3f}s")
    print(f"target < {TARGET_SECONDS:g}s (whole process): {result['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
