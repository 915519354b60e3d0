"""Starter script: publish the churn-classifier model to the lab's bucket with boto3.

Run it from your workspace, after `eval "$(labrun env)"` (that is how boto3 finds the lab's
cloud):

    python3 publish_model.py BUCKET

BUCKET is the `bucket` that `labrun start` printed. Fill in one TODO at a time, run the
script, and run `labrun check` to see the task pass. Every step is safe to run again.
"""

import sys

import boto3

s3 = boto3.client("s3")
bucket = sys.argv[1]
print("Objects in the bucket (first page):", s3.list_objects_v2(Bucket=bucket)["KeyCount"])

# Task 1: upload churn-classifier/model.bin and churn-classifier/metrics.json to
#         models/churn-classifier/v3/model.bin and models/churn-classifier/v3/metrics.json
# TODO s3.upload_file(FILENAME, bucket, KEY)

# Task 2: turn on versioning
# TODO s3.put_bucket_versioning(...)

# Task 3: tag both files with model=churn-classifier and stage=candidate
# TODO s3.put_object_tagging(...)

# Task 4: a lifecycle rule that deletes old versions under models/ after 30 days
# TODO s3.put_bucket_lifecycle_configuration(...)

# Task 5: every key under datasets/clickstream/, one per line, into clickstream-keys.txt
# TODO s3.get_paginator("list_objects_v2")
