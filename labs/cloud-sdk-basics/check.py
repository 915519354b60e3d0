"""Checks of the cloud-sdk-basics lab: the state of the lab's bucket, and the key listing.

Every task reads the bucket as it is now (with the session's own credentials and endpoint,
through ctx.aws), so it grades what the learner did, whichever tool they used: boto3, the
AWS CLI or anything else.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from labrun.checks import CheckFailed, task

LAB_DIR = Path(__file__).resolve().parent
MODEL = "churn-classifier"
FILES = ("model.bin", "metrics.json")
WANTED_TAGS = {"model": "churn-classifier", "stage": "candidate"}
NONCURRENT_DAYS = 30
LISTING_FILE = "clickstream-keys.txt"


def error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def bucket(ctx) -> str:
    return ctx.outputs["bucket"]


def wanted_key(ctx, name: str) -> str:
    return ctx.outputs["model_prefix"] + name


def all_keys(s3, bucket_name: str, prefix: str = "") -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket_name, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_object(s3, bucket_name: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise


# --- 1. upload -------------------------------------------------------------------------------


@task("upload")
def upload(ctx):
    s3 = ctx.aws.client("s3")
    name = bucket(ctx)
    problems, hints, good = [], [], 0
    elsewhere = [k for k in all_keys(s3, name) if not k.startswith("datasets/")]
    for file in FILES:
        key = wanted_key(ctx, file)
        body = read_object(s3, name, key)
        expected = (LAB_DIR / "files" / MODEL / file).read_bytes()
        if body is None:
            misplaced = [k for k in elsewhere if k.rsplit("/", 1)[-1] == file and k != key]
            if misplaced:
                problems.append(f"{file} is at {misplaced[0]!r}, not at {key!r}")
                hints.append(
                    f"The key must be exactly {key} (models/<model>/<version>/<file>). "
                    f'Upload it again with that key, e.g. s3.upload_file("{MODEL}/{file}", '
                    f'"{name}", "{key}"), and delete the misplaced copy.'
                )
            else:
                problems.append(f"{key} is not in the bucket")
        elif digest(body) != digest(expected):
            problems.append(
                f"{key} is in the bucket, but it is not the {file} of your workspace "
                f"({len(body)} bytes, the file has {len(expected)})"
            )
            hints.append(
                f"Upload the file itself, from {MODEL}/{file} in your workspace: "
                "upload_file(FILENAME, BUCKET, KEY) takes the file's path first."
            )
        else:
            good += 1
    if good == len(FILES):
        return
    raise CheckFailed(
        "; ".join(problems),
        hint=hints[0] if hints else None,
        score=good / len(FILES),
    )


# --- 2. versioning ---------------------------------------------------------------------------


@task("versioning")
def versioning(ctx):
    status = ctx.aws.client("s3").get_bucket_versioning(Bucket=bucket(ctx)).get("Status")
    if status == "Enabled":
        return
    if status == "Suspended":
        raise CheckFailed(
            "versioning is Suspended: new uploads overwrite the old ones again",
            hint='Turn it back on with VersioningConfiguration={"Status": "Enabled"}.',
        )
    raise CheckFailed("versioning is not turned on for the bucket (it never was)")


# --- 3. tags ---------------------------------------------------------------------------------


@task("tags")
def tags(ctx):
    s3 = ctx.aws.client("s3")
    name = bucket(ctx)
    problems, good, total = [], 0, len(FILES) * len(WANTED_TAGS)
    missing, tagged = False, False
    for file in FILES:
        key = wanted_key(ctx, file)
        try:
            tag_set = s3.get_object_tagging(Bucket=name, Key=key)["TagSet"]
        except Exception as exc:
            if error_code(exc) not in ("NoSuchKey", "404"):
                raise
            problems.append(f"{key} is not in the bucket (task upload)")
            missing = True
            continue
        found = {t["Key"]: t["Value"] for t in tag_set}
        tagged = tagged or bool(found)
        for tag, value in WANTED_TAGS.items():
            if found.get(tag) == value:
                good += 1
            elif tag in found:
                problems.append(f"{file} has {tag}={found[tag]}, not {tag}={value}")
            else:
                problems.append(f"{file} has no tag {tag}")
    if good == total:
        return
    hint = None  # the static hint of lab.toml: how to tag an object
    bucket_tags = _bucket_tags(s3, name)
    if missing:
        hint = "Upload the files first (task upload), then tag them."
    elif any(tag in bucket_tags for tag in WANTED_TAGS):
        hint = (
            "You tagged the bucket, not the objects: tag each file with put_object_tagging "
            "(Bucket=..., Key=..., Tagging=...)."
        )
        if "labrun:session" not in bucket_tags:
            hint += (
                " Careful: put_bucket_tagging replaces ALL the bucket's tags, and it removed "
                "labrun's own (labrun:session...). labrun still deletes the bucket at stop, "
                "but in a shared account, untagged resources are the ones nobody can trace."
            )
    elif tagged:
        hint = (
            "Tags are exact: the keys `model` and `stage`, lowercase, with the values "
            "`churn-classifier` and `candidate`. Did you upload a file again after tagging "
            "it? A new upload is a new version, without the old version's tags."
        )
    raise CheckFailed("; ".join(problems), hint=hint, score=round(good / total, 2))


def _bucket_tags(s3, name: str) -> dict[str, str]:
    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except Exception as exc:
        if error_code(exc) == "NoSuchTagSet":
            return {}
        raise


# --- 4. lifecycle ----------------------------------------------------------------------------


@task("lifecycle")
def lifecycle(ctx):
    s3 = ctx.aws.client("s3")
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket(ctx))["Rules"]
    except Exception as exc:
        if error_code(exc) != "NoSuchLifecycleConfiguration":
            raise
        raise CheckFailed("the bucket has no lifecycle rule") from None
    covering = [r for r in rules if _covers_models(r)]
    for rule in covering:
        expiration = rule.get("Expiration", {})
        if rule.get("Status") == "Enabled" and ("Days" in expiration or "Date" in expiration):
            raise CheckFailed(
                f"rule {rule.get('ID', '(no ID)')!r} expires the CURRENT objects under models/: "
                "it would delete your published model itself",
                hint="Expiration deletes current objects. For old versions only, use "
                'NoncurrentVersionExpiration={"NoncurrentDays": 30} instead of Expiration.',
            )
    old_versions = [r for r in covering if "NoncurrentVersionExpiration" in r]
    if not old_versions:
        if rules and not covering:
            prefixes = sorted({_prefix(r) or "(whole bucket)" for r in rules})
            raise CheckFailed(
                f"no lifecycle rule applies to models/ (the rules filter on {', '.join(prefixes)})",
                hint='Filter the rule on {"Prefix": "models/"} (or on the whole bucket).',
            )
        raise CheckFailed(
            "no lifecycle rule deletes old (noncurrent) versions",
            hint='Add NoncurrentVersionExpiration={"NoncurrentDays": 30} to a rule on models/.',
        )
    enabled = [r for r in old_versions if r.get("Status") == "Enabled"]
    if not enabled:
        raise CheckFailed(
            f"the rule {old_versions[0].get('ID', '(no ID)')!r} is Disabled",
            hint='A rule only acts with "Status": "Enabled".',
        )
    days = [r["NoncurrentVersionExpiration"].get("NoncurrentDays") for r in enabled]
    if NONCURRENT_DAYS in days:
        return
    raise CheckFailed(
        f"old versions are deleted after {days[0]} days, the team's policy is {NONCURRENT_DAYS}",
        hint=f'Set NoncurrentVersionExpiration={{"NoncurrentDays": {NONCURRENT_DAYS}}}.',
        score=0.5,
    )


def _prefix(rule: dict) -> str:
    """The key prefix a lifecycle rule filters on ("" for the whole bucket)."""
    rule_filter = rule.get("Filter", {})
    if "And" in rule_filter:
        rule_filter = rule_filter["And"]
    return rule_filter.get("Prefix", rule.get("Prefix", ""))


def _covers_models(rule: dict) -> bool:
    """Whether the rule applies to every object under models/ (no tag or size condition)."""
    rule_filter = rule.get("Filter", {})
    conditions = rule_filter.get("And", rule_filter)
    if any(k in conditions for k in ("Tag", "Tags", "ObjectSizeGreaterThan")):
        return False
    return "models/".startswith(_prefix(rule))  # "", "m", "models", "models/"...


# --- 5. listing ------------------------------------------------------------------------------


@task("listing")
def listing(ctx):
    s3 = ctx.aws.client("s3")
    name = bucket(ctx)
    prefix = ctx.outputs["listing_prefix"]
    path = Path(ctx.workspace) / LISTING_FILE
    if not path.is_file():
        raise CheckFailed(f"there is no {LISTING_FILE} in your workspace")
    expected = set(all_keys(s3, name, prefix))
    written = _keys_in(path.read_text(encoding="utf-8", errors="replace"), name)
    missing = expected - written
    extra = written - expected
    if not missing and not extra:
        return
    if not written:
        raise CheckFailed(f"{LISTING_FILE} holds no keys", hint="Write one key per line.")
    outside = sorted(k for k in extra if not k.startswith(prefix))
    if not missing and outside:
        raise CheckFailed(
            f"every key under {prefix} is there, but also {len(outside)} from outside it "
            f"(e.g. {outside[0]})",
            hint=f'Keep the trailing "/" in Prefix="{prefix}": without it, "{prefix[:-1]}" '
            f"also matches {prefix[:-1]}-archive/.",
            score=0.5,
        )
    if len(written & expected) == 1000 and missing:
        raise CheckFailed(
            f"{LISTING_FILE} has 1000 of the {len(expected)} keys: the listing stopped after "
            "its first page",
            hint="One list_objects_v2 call returns at most 1,000 keys (IsTruncated says there "
            'are more). Use a paginator: s3.get_paginator("list_objects_v2").paginate(...), '
            'and take the keys of every page\'s "Contents".',
        )
    problem = f"{len(written & expected)} of the {len(expected)} keys under {prefix}"
    if extra:
        example = sorted(extra)[0]
        problem += f", and {len(extra)} lines that are not keys under it (e.g. {example!r})"
    raise CheckFailed(
        problem,
        hint=f"Write the full keys, one per line (e.g. {min(expected, default=prefix)}), "
        "for every page of the listing."
        if expected
        else None,
    )


def _keys_in(text: str, bucket_name: str) -> set[str]:
    """The keys in the learner's file: one per line, or whitespace-separated (the AWS CLI's
    text output); `s3://bucket/` prefixes and `aws s3 ls` dates and sizes are tolerated."""
    keys = set()
    for line in text.splitlines():
        tokens = line.split()
        if re.match(r"\d{4}-\d\d-\d\d$", tokens[0] if tokens else "") and len(tokens) == 4:
            tokens = tokens[3:]  # `aws s3 ls --recursive`: date, time, size, key
        for token in tokens:
            token = token.strip("\"',[]")
            token = token.removeprefix(f"s3://{bucket_name}/")
            if token:
                keys.add(token)
    return keys
