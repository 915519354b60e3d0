"""The estimate of a plan, and the gate `labrun start` runs before apply.

An estimate is each planned resource's price per hour, the totals per hour and for the
TTL, the resources labrun cannot price, and what the policy refuses. `before_apply` plans
the session's module, records the estimate and refuses (nothing applied yet) a plan the
policy forbids, or whose cost for the TTL exceeds the budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labrun.errors import BadInput

if TYPE_CHECKING:  # imported where used: a start with nothing to price loads none of them
    from labrun.catalog import Lab
    from labrun.manifest import Manifest
    from labrun.plan import PlannedResource
    from labrun.policy import Policy, Violation
    from labrun.pricing import Price
    from labrun.session import Session
    from labrun.store import SessionStore
    from labrun.tfengine import ProgressCallback

MAX_NAMED = 5  # resources named in a one-line refusal


class Refused(BadInput):
    """A start refused before apply: over its budget, or against the policy (exit code 2)."""


@dataclass(frozen=True)
class Row:
    resource: PlannedResource
    price: Price

    def to_json(self) -> dict[str, Any]:
        hourly = self.price.hourly_usd
        return {
            "address": self.resource.address,
            "type": self.resource.type,
            "hourly_usd": None if hourly is None else round(hourly, 6),
            "priced": self.price.priced,
            "note": self.price.note,
        }


@dataclass(frozen=True)
class Estimate:
    rows: list[Row]
    ttl_hours: float
    violations: list[Violation]

    @property
    def hourly_usd(self) -> float:
        """The priced resources' total (the unpriced ones are listed, never counted as $0)."""
        return sum(r.price.hourly_usd or 0.0 for r in self.rows)

    @property
    def ttl_usd(self) -> float:
        return self.hourly_usd * self.ttl_hours

    @property
    def unpriced(self) -> list[str]:
        return [r.resource.address for r in self.rows if not r.price.priced]

    def to_json(self) -> dict[str, Any]:
        return {
            "hourly_usd": round(self.hourly_usd, 6),
            "ttl_hours": round(self.ttl_hours, 4),
            "ttl_usd": round(self.ttl_usd, 6),
            "resources": [r.to_json() for r in self.rows],
            "unpriced": self.unpriced,
            "violations": [v.to_json() for v in self.violations],
        }


def estimate(resources: Iterable[PlannedResource], ttl: timedelta, policy: Policy) -> Estimate:
    """Price every resource and check it against the policy."""
    from labrun import policy as rules
    from labrun.prices import load_table
    from labrun.pricing import price

    table = load_table()
    listed = list(resources)
    rows = [Row(r, price(r, table)) for r in listed]
    return Estimate(rows, ttl.total_seconds() / 3600, rules.check(listed, policy))


def of_document(
    document: dict[str, Any] | None,
    ttl: timedelta,
    manifest: Manifest | None = None,
    region: str | None = None,
) -> Estimate:
    """The estimate of a `terraform show -json` document (None: nothing to plan) plus what
    the lab declares in [[costs]], under the user's policy plus the lab's; `region` is where
    resources whose provider names none land."""
    from labrun import config
    from labrun.plan import read_plan
    from labrun.policy import policy_for

    planned = read_plan(document, region) if document is not None else []
    resources = [*planned, *declared_resources(manifest, region)]
    return estimate(resources, ttl, policy_for(config.load(), manifest))


def declared_resources(manifest: Manifest | None, region: str | None) -> list[PlannedResource]:
    """lab.toml's [[costs]] as planned resources: what a lab's scripts create is priced by
    the same table as what its Terraform plans."""
    from labrun.plan import PlannedResource

    if manifest is None:
        return []
    return [
        PlannedResource(
            address=f"lab.toml costs[{i}] {cost.type}[{n}]",
            type=cost.type,
            values=dict(cost.values),
            region=region,
        )
        for i, cost in enumerate(manifest.costs)
        for n in range(cost.count)
    ]


def of_lab(
    lab: Lab, target: str, ttl: timedelta, progress: ProgressCallback | None = None
) -> Estimate:
    """Plan `lab` for `target` (nothing is created) and estimate the plan."""
    from labrun import awsenv, localcloud
    from labrun.plan import plan_lab

    document = plan_lab(lab, target, ttl, progress)
    if target == "local":
        region: str | None = localcloud.REGION
    else:
        region = awsenv.resolve_region(awsenv.passthrough())
    return of_document(document, ttl, lab.manifest, region)


def refusal(found: Estimate, budget: float | None) -> str | None:
    """Why a start must not apply this plan, in one line; None when it may."""
    from labrun.meter import usd

    if found.violations:
        named = [f"{v.address} ({v.rule}): {v.message}" for v in found.violations[:MAX_NAMED]]
        more = len(found.violations) - MAX_NAMED
        named += [f"and {more} more (`labrun plan` lists them)"] if more > 0 else []
        return "the policy refuses this plan: " + "; ".join(named)
    if budget is None:
        return None
    if found.unpriced:
        unpriced = ", ".join(found.unpriced[:MAX_NAMED])
        return f"labrun cannot price {unpriced}, so it cannot hold the budget of {usd(budget)}"
    if found.ttl_usd <= budget:
        return None
    costly = sorted((r for r in found.rows if r.price.hourly_usd), key=_hourly, reverse=True)
    costs = ", ".join(f"{r.resource.address} {usd(_hourly(r))}/h" for r in costly[:MAX_NAMED])
    return (
        f"the estimate for {found.ttl_hours:g}h is {usd(found.ttl_usd)}, over the budget of "
        f"{usd(budget)}: {costs} (shorten --ttl, raise --budget, or see `labrun plan`)"
    )


def _hourly(row: Row) -> float:
    return row.price.hourly_usd or 0.0


def before_apply(
    store: SessionStore,
    session: Session,
    manifest: Manifest,
    env: dict[str, str],
    budget: float | None,
    progress: ProgressCallback | None = None,
) -> str | None:
    """Plan the session's prepared module to a plan file, price and check that plan, record
    the estimate, and refuse what must not apply.

    The regions the plan names (a provider block's, a resource's own) are added to the
    session's recorded identity, so that its teardown sweeps them too.

    Returns the plan file that was priced: the start applies exactly that file, so nothing
    it did not price can be applied. None when the module is provably free (Terraform's
    builtin provider only): no plan is made and the start applies in one Terraform process.
    """
    from labrun import awsenv, plan, tfmodule
    from labrun.sessionmodule import terraform_for

    info = tfmodule.cached_module_info(session.terraform_dir, session.workdir / "module.json")
    planned = not info.builtin_only
    if not planned and not manifest.costs:
        store.update(session.id, hourly_usd=0.0, budget_usd=budget)
        return None
    document = plan.make_plan(terraform_for(session, env), progress) if planned else None
    region = awsenv.resolve_region(env)
    found = of_document(document, session.expires_at - session.created_at, manifest, region)
    store.journal(session.id, "estimate", found.to_json())
    if session.identity is not None:  # the regions the plan names are swept at teardown too
        named = [row.resource.region for row in found.rows if row.resource.is_aws]
        store.update(session.id, identity=session.identity.with_regions(named))
    why = refusal(found, budget)
    # A refused plan is never applied: the session's meter stays at $0.
    store.update(session.id, hourly_usd=0.0 if why else found.hourly_usd, budget_usd=budget)
    if why is not None:
        raise Refused(why)
    return plan.PLAN_FILE if planned else None
