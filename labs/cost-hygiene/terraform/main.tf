# cost-hygiene: a small ML platform in its own VPC, with the leftovers of past experiments
# beside it: instances, EBS volumes, elastic IPs and a NAT gateway that nobody stopped.
#
# Only Terraform's builtin provider is used (terraform_data + local-exec), so the lab needs no
# provider download: seed.py makes everything with boto3, in whatever cloud the AWS_*
# variables point at (labrun's local cloud, or real AWS with --target aws). Every resource is
# created already carrying the session's tags; the ones that must stay also carry keep=true.
# Destroy finds what is left by the session's tag (the learner deletes part of it), and
# succeeds when it is all gone already.

variable "labrun_session" {
  description = "The session id (filled in by labrun)."
  type        = string
}

variable "labrun_tags" {
  description = "The session's AWS tags (filled in by labrun): on everything this module makes."
  type        = map(string)
}

resource "terraform_data" "platform" {
  input = {
    script  = abspath("${path.module}/seed.py")
    session = var.labrun_session
    tags    = jsonencode(var.labrun_tags)
  }

  provisioner "local-exec" {
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" create"
    environment = {
      LAB_SEED    = self.input.script
      LAB_SESSION = self.input.session
      LAB_TAGS    = self.input.tags
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "\"$LABRUN_PYTHON\" \"$LAB_SEED\" destroy"
    environment = {
      LAB_SEED    = self.input.script
      LAB_SESSION = self.input.session
      LAB_TAGS    = self.input.tags
    }
  }
}

output "session_tag" {
  description = "Every resource of this lab carries this tag: filter on it to see only yours."
  value       = "labrun:session=${var.labrun_session}"
}

output "keep_tag" {
  description = "What must stay carries this tag. Everything else here was forgotten."
  value       = "keep=true"
}
