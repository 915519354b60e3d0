# cloud-sdk-basics: the lab's S3 bucket, where the learner publishes a model with boto3.
#
# Only Terraform's builtin provider is used (terraform_data + local-exec), so the lab needs no
# provider download: seed.py makes the bucket with boto3, in whatever cloud the AWS_* variables
# point at (labrun's local cloud, or real AWS with --target aws). The bucket carries the
# session's tags from its first moment; it is seeded with a dataset of more than 1,000 objects
# (the pagination task). Its destroy deletes every version and delete marker, then the
# bucket, and succeeds when the bucket is already gone.

variable "labrun_session" {
  description = "The session id (filled in by labrun)."
  type        = string
}

variable "labrun_tags" {
  description = "The session's AWS tags (filled in by labrun): on everything this module makes."
  type        = map(string)
}

locals {
  bucket         = "ml-artifacts-${var.labrun_session}"
  model_prefix   = "models/churn-classifier/v3/"
  listing_prefix = "datasets/clickstream/"
}

resource "terraform_data" "bucket" {
  input = {
    script         = abspath("${path.module}/seed.py")
    session        = var.labrun_session
    bucket         = local.bucket
    listing_prefix = local.listing_prefix
    tags           = jsonencode(var.labrun_tags)
  }

  provisioner "local-exec" {
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" create"
    environment = {
      LAB_SEED           = self.input.script
      LAB_SESSION        = self.input.session
      LAB_BUCKET         = self.input.bucket
      LAB_LISTING_PREFIX = self.input.listing_prefix
      LAB_TAGS           = self.input.tags
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" destroy"
    environment = {
      LAB_SEED           = self.input.script
      LAB_SESSION        = self.input.session
      LAB_BUCKET         = self.input.bucket
      LAB_LISTING_PREFIX = self.input.listing_prefix
      LAB_TAGS           = self.input.tags
    }
  }
}

output "bucket" {
  description = "The lab's S3 bucket."
  value       = local.bucket
}

output "model_prefix" {
  description = "Where the model's files go in the bucket."
  value       = local.model_prefix
}

output "listing_prefix" {
  description = "The prefix to list, every key of it, into clickstream-keys.txt."
  value       = local.listing_prefix
}
