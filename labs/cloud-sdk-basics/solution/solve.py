"""Reference solution of cloud-sdk-basics: run in the session's workspace with the session's env.

eval "$(labrun env)"; python3 solve.py BUCKET
"""

import os
import sys
from pathlib import Path

import boto3

s3 = boto3.client("s3")
bucket = sys.argv[1] if len(sys.argv) > 1 else "ml-artifacts-" + os.environ["LABRUN_SESSION"]
prefix = "models/churn-classifier/v3/"

# 2. Versioning first: every upload from now on is kept as a version.
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

# 1. and 3. The model's files, in the layout models/<model>/<version>/<file>, tagged.
tags = "model=churn-classifier&stage=candidate"
for name in ("model.bin", "metrics.json"):
    s3.upload_file(f"churn-classifier/{name}", bucket, prefix + name, ExtraArgs={"Tagging": tags})

# 4. Old versions of the models go after 30 days; the current ones stay.
s3.put_bucket_lifecycle_configuration(
    Bucket=bucket,
    LifecycleConfiguration={
        "Rules": [
            {
                "ID": "expire-old-model-versions",
                "Filter": {"Prefix": "models/"},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            }
        ]
    },
)

# 5. Every key under the prefix: more than 1,000, so every page of the listing.
keys = []
paginator = s3.get_paginator("list_objects_v2")
for page in paginator.paginate(Bucket=bucket, Prefix="datasets/clickstream/"):
    keys += [item["Key"] for item in page.get("Contents", [])]
Path("clickstream-keys.txt").write_text("".join(key + "\n" for key in keys))
print(f"{len(keys)} keys written to clickstream-keys.txt")
