"""Starter script: explore the batch job's logs with boto3.

Run it in `labrun shell` (or after `eval "$(labrun env)"`: that is how boto3 finds the lab's
cloud):

    python3 find_failed_run.py "$LAB_LOG_GROUP"

$LAB_LOG_GROUP is the lab's `log_group` output. Fill in the TODOs, one at a time,
and run the script after each one.
"""

import sys

import boto3

logs = boto3.client("logs")
group = sys.argv[1]

# 1. The runs: one log stream per run, named after the run's id.
#    A paginator fetches every page of the answer, however many streams there are.
streams = []
for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
    streams.extend(page["logStreams"])
print(len(streams), "runs:", [s["logStreamName"] for s in streams])

# 2. TODO: find the events that say how each run ended.
#    logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=...)
#    gives events with "logStreamName" and "message".

# 3. TODO: read the failed run's own stream from the start, and print its ERROR line.
#    logs.get_log_events(logGroupName=group, logStreamName=..., startFromHead=True)["events"]
