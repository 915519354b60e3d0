# Five steps with Terraform's builtin provider: what a small lab's module costs to apply and
# destroy, without a provider to download or a cloud to call.

variable "labrun_session" {
  type        = string
  description = "The session id: 8 lowercase letters and digits, safe in resource names."
}

resource "terraform_data" "step" {
  count = 5
  input = "${var.labrun_session}-step-${count.index}"

  provisioner "local-exec" {
    command = "true"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "true"
  }
}

output "steps" {
  description = "The name of each step, prefixed with the session id."
  value       = terraform_data.step[*].output
}
