variable "labrun_session" { type = string }
variable "labrun_labels" { type = map(string) }
variable "image" {
  type    = string
  default = "labrun-test/busybox:1"
}

locals {
  network = "lab-${var.labrun_session}"
}

# Values reach the commands through `environment`, never spliced into the shell string.
resource "terraform_data" "network" {
  input = { name = local.network, labels = jsonencode(var.labrun_labels) }
  provisioner "local-exec" {
    command     = "\"$LABRUN_PYTHON\" -c 'import docker,json,os; docker.from_env().networks.create(os.environ[\"NAME\"], labels=json.loads(os.environ[\"LABELS\"]))'"
    environment = { NAME = self.input.name, LABELS = self.input.labels }
  }
  provisioner "local-exec" {
    when = destroy
    # Idempotent, as every destroy should be: a network already gone counts as removed.
    command     = "docker network rm \"$NAME\" || ! docker network inspect \"$NAME\" >/dev/null 2>&1"
    environment = { NAME = self.input.name }
  }
}

# A helper container labrun starts for the lab; its destroy removes it.
resource "terraform_data" "sidecar" {
  depends_on = [terraform_data.network]
  input = {
    name = "sidecar-${var.labrun_session}", network = local.network, image = var.image,
    labels = jsonencode(var.labrun_labels)
  }
  provisioner "local-exec" {
    command     = "\"$LABRUN_PYTHON\" -c 'import docker,json,os; e=os.environ; docker.from_env().containers.run(e[\"IMAGE\"], \"sleep 3600\", detach=True, name=e[\"NAME\"], network=e[\"NETWORK\"], labels=json.loads(e[\"LABELS\"]))'"
    environment = { NAME = self.input.name, NETWORK = self.input.network, IMAGE = self.input.image, LABELS = self.input.labels }
  }
  provisioner "local-exec" {
    when        = destroy
    command     = "docker rm -f \"$NAME\" || ! docker container inspect \"$NAME\" >/dev/null 2>&1"
    environment = { NAME = self.input.name }
  }
}

output "network" { value = local.network }
output "image" { value = var.image }
