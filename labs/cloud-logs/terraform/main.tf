# cloud-logs: a CloudWatch Logs log group holding the nightly runs of a batch-scoring job,
# one log stream per run, one of them failed.
#
# Only Terraform's builtin provider is used (terraform_data + local-exec), so the lab needs no
# provider download: seed.py makes the log group with boto3, in whatever cloud the AWS_*
# variables point at (labrun's local cloud, or real AWS with --target aws). The log group is
# created already carrying the session's tags, and its destroy succeeds when it is gone.

variable "labrun_session" {
  description = "The session id (filled in by labrun)."
  type        = string
}

variable "labrun_tags" {
  description = "The session's AWS tags (filled in by labrun): on everything this module makes."
  type        = map(string)
}

locals {
  log_group = "/mlops/nightly-churn-scoring-${var.labrun_session}"
}

resource "terraform_data" "batch_logs" {
  input = {
    script    = abspath("${path.module}/seed.py")
    session   = var.labrun_session
    log_group = local.log_group
    tags      = jsonencode(var.labrun_tags)
  }

  provisioner "local-exec" {
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" create"
    environment = {
      LAB_SEED      = self.input.script
      LAB_SESSION   = self.input.session
      LAB_LOG_GROUP = self.input.log_group
      LAB_TAGS      = self.input.tags
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" destroy"
    environment = {
      LAB_SEED      = self.input.script
      LAB_SESSION   = self.input.session
      LAB_LOG_GROUP = self.input.log_group
      LAB_TAGS      = self.input.tags
    }
  }
}

output "log_group" {
  description = "The log group of the batch job: one log stream per run, named after the run's id."
  value       = local.log_group
}

output "answer_file" {
  description = "The file in your workspace where your answers go."
  value       = "failed-run.txt"
}
