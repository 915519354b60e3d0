"""The cloud-sdk-basics lab's bucket: made (and seeded) at start, emptied and deleted at stop.

Run by main.tf's provisioners with labrun's Python (boto3 reaches the session's cloud through
the AWS_* variables labrun sets, so the same script works on the local cloud and real AWS):

    seed.py create    create the bucket, tag it with the session's tags, seed the datasets
    seed.py destroy   delete every object version and delete marker, then the bucket;
                      already gone is success (labrun may run it twice)

Settings come from the environment main.tf passes: LAB_SESSION, LAB_BUCKET, LAB_TAGS (the
session's tags as JSON), LAB_LISTING_PREFIX.

The datasets are drawn from a generator seeded with the session id, so every session lists a
different number of keys (always more than the 1,000 a single listing call returns).
"""

from __future__ import annotations

import json
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor

ARCHIVE_SUFFIX = "-archive/"  # datasets/clickstream-archive/: the trap of a prefix without "/"


def dataset_keys(session: str, prefix: str) -> list[str]:
    """The keys seeded under `prefix` (e.g. datasets/clickstream/), more than 1,000 of them."""
    rng = random.Random(f"cloud-sdk-basics/{session}")
    count = rng.randint(1100, 1400)
    days = 30
    keys = []
    for index in range(count):
        day = 1 + index * days // count
        keys.append(f"{prefix}2026/11/{day:02d}/events-{index:05d}.jsonl")
    return keys


def archive_keys(prefix: str) -> list[str]:
    """Keys next to the prefix that a listing of `prefix` must not return."""
    base = prefix.rstrip("/") + ARCHIVE_SUFFIX
    return [f"{base}2025/{month:02d}/events.jsonl.gz" for month in range(1, 13)]


def create(bucket: str, tags: dict[str, str], session: str, prefix: str) -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", config=Config(max_pool_connections=16))
    region = s3.meta.region_name
    try:
        if region in (None, "us-east-1"):
            s3.create_bucket(Bucket=bucket)
        else:
            location = {"LocationConstraint": region}
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=location)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    # Marked right away: from here on labrun can prove the bucket is the session's.
    tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set})

    def put(key: str) -> None:
        body = json.dumps({"key": key, "events": 1}).encode() + b"\n"
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    keys = [*dataset_keys(session, prefix), *archive_keys(prefix)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, keys))
    readme = (
        "clickstream/: one file of click events per batch, by day.\n"
        "clickstream-archive/: last year's events, compressed.\n"
    )
    s3.put_object(Bucket=bucket, Key=prefix.split("/")[0] + "/README.txt", Body=readme.encode())


def destroy(bucket: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    try:
        for _ in range(10):  # list everything, delete it, and list again until it is empty
            doomed = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if not doomed:
                break
            for start in range(0, len(doomed), 1000):
                batch = doomed[start : start + 1000]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        s3.delete_bucket(Bucket=bucket)
    except Exception as exc:  # a missing bucket is NoSuchBucket (or a bare 404): success
        if getattr(exc, "response", {}).get("Error", {}).get("Code") not in ("NoSuchBucket", "404"):
            raise


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) == 2 else ""
    bucket = os.environ["LAB_BUCKET"]
    if action == "create":
        try:
            create(
                bucket,
                json.loads(os.environ["LAB_TAGS"]),
                os.environ["LAB_SESSION"],
                os.environ["LAB_LISTING_PREFIX"],
            )
        except BaseException:
            destroy(bucket)  # leave nothing half-made behind (Terraform will not destroy it)
            raise
    elif action == "destroy":
        destroy(bucket)
    else:
        print("usage: seed.py create|destroy", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
