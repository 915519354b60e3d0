# iac-basics: the learner writes and runs their own Terraform in the workspace. This module
# creates nothing in the cloud: Terraform's builtin terraform_data writes provider.tf into
# the workspace, which points the learner's aws provider at the lab's cloud (through the
# environment `labrun env` sets) and tags everything they create with the session's tags
# (default_tags), so that `labrun stop` can remove what they forget to destroy.
#
# provider.tf stays in the workspace after the lab: it is the learner's folder. Its text is
# in provider.tf.tftpl, not here: labrun reads this folder's *.tf files to see whether the
# module itself uses the aws provider, and this one must not.

variable "labrun_session" {
  type        = string
  description = "The session id (filled in by labrun)."
}

variable "labrun_tags" {
  type        = map(string)
  description = "The session's AWS tags (filled in by labrun)."
}

variable "labrun_workspace" {
  type        = string
  description = "Absolute path of the learner's workspace (filled in by labrun)."
}

locals {
  name_prefix = "iac-${var.labrun_session}"
  # One `"key" = "value"` line per tag, aligned the way `terraform fmt` aligns them.
  tag_width = max([for key in keys(var.labrun_tags) : length(jsonencode(key))]...)
  tag_lines = [
    for key, value in var.labrun_tags :
    format("%-${local.tag_width}s = %s", jsonencode(key), jsonencode(value))
  ]
  provider_tf = templatefile("${path.module}/provider.tf.tftpl", {
    session = var.labrun_session
    tags    = join("\n      ", local.tag_lines)
  })
}

resource "terraform_data" "provider_tf" {
  input = {
    path    = "${var.labrun_workspace}/provider.tf"
    content = local.provider_tf
  }

  provisioner "local-exec" {
    command = "printf '%s' \"$PROVIDER_TF\" > \"$PROVIDER_TF_PATH\""
    environment = {
      PROVIDER_TF      = self.input.content
      PROVIDER_TF_PATH = self.input.path
    }
  }
}

output "name_prefix" {
  description = "The value of your name_prefix variable (in terraform.tfvars)."
  value       = local.name_prefix
}

output "bucket" {
  description = "The bucket your Terraform creates: \"$${var.name_prefix}-models\"."
  value       = "${local.name_prefix}-models"
}

output "queue" {
  description = "The queue your Terraform creates: \"$${var.name_prefix}-jobs\"."
  value       = "${local.name_prefix}-jobs"
}

output "required_tags" {
  description = "Tags both resources must carry (besides labrun's, added by provider.tf)."
  value       = { Project = "iac-basics", ManagedBy = "terraform" }
}
