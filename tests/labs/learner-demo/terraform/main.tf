# The builtin provider only: outputs of every shape, and nothing to clean up.
variable "labrun_session" { type = string }

resource "terraform_data" "marker" {
  input = var.labrun_session
}

output "markerFile" { value = "marker-${terraform_data.marker.output}.txt" }
output "settings" { value = { replicas = 2, note = "[/] not markup" } }
output "title-text" { value = "[bold]plain[/bold]" }
