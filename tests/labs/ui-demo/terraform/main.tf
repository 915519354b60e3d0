# The builtin provider only, and no cloud: the tasks are files in the workspace.
variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

resource "terraform_data" "desk" {
  input = { session = var.labrun_session, tags = var.labrun_tags }
}

output "desk" { value = "desk-${terraform_data.desk.output.session}" }
