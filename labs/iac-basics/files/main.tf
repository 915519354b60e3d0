# Your infrastructure: a bucket for model files and a queue for training jobs.
#
# Write them here (the README's step 2 explains each part). The shape of a resource:
#
#   resource "TYPE" "LOCAL_NAME" {
#     argument = value
#   }
#
# TODO: an aws_s3_bucket named "<name_prefix>-models"
# TODO: an aws_sqs_queue named "<name_prefix>-jobs"
# TODO: both tagged Project = "iac-basics" and ManagedBy = "terraform"
