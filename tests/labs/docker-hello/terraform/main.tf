variable "labrun_session" { type = string }
variable "labrun_labels" { type = map(string) }
variable "image" {
  type    = string
  default = "labrun-test/busybox:1"
}

locals {
  network = "lab-${var.labrun_session}"
  labels  = join(" ", [for k, v in var.labrun_labels : "--label ${k}=${v}"])
}

resource "terraform_data" "network" {
  input = local.network
  provisioner "local-exec" {
    command = "docker network create ${local.labels} ${self.input}"
  }
  provisioner "local-exec" {
    when    = destroy
    # Idempotent, as every destroy should be: a network already gone counts as removed.
    command = "docker network rm ${self.input} || ! docker network inspect ${self.input} >/dev/null 2>&1"
  }
}

# A helper container labrun starts for the lab; its destroy removes it.
resource "terraform_data" "sidecar" {
  depends_on = [terraform_data.network]
  input      = "sidecar-${var.labrun_session}"
  provisioner "local-exec" {
    command = "docker run -d ${local.labels} --name ${self.input} --network ${local.network} ${var.image} sleep 3600"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "docker rm -f ${self.input} || ! docker container inspect ${self.input} >/dev/null 2>&1"
  }
}

output "network" { value = local.network }
output "image" { value = var.image }
