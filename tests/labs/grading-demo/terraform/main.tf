# The builtin provider only, and no cloud: the tasks are files in the workspace.
variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

resource "terraform_data" "marker" {
  input = { session = var.labrun_session, tags = var.labrun_tags }
}

output "deploy_marker" { value = "deployed-${terraform_data.marker.output.session}.txt" }
