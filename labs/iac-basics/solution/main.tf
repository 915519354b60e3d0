# Reference solution of iac-basics: a bucket and a queue, named from one variable and
# tagged as the team requires (labrun's own tags come from provider.tf's default_tags).

locals {
  tags = {
    Project   = "iac-basics"
    ManagedBy = "terraform"
  }
}

resource "aws_s3_bucket" "models" {
  bucket = "${var.name_prefix}-models"
  # Lets `terraform destroy` delete the bucket even when it holds files.
  force_destroy = true
  tags          = local.tags
}

resource "aws_sqs_queue" "jobs" {
  name = "${var.name_prefix}-jobs"
  tags = local.tags
}

output "bucket" {
  value = aws_s3_bucket.models.bucket
}

output "queue_url" {
  value = aws_sqs_queue.jobs.url
}
