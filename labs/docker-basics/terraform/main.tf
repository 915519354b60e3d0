# docker-basics: the lab's network and volume, made with the kreuzwerker/docker provider
# (the provider of Terraform's own Docker tutorial), both carrying the session's labels so
# that `labrun stop` can prove they are gone. The learner builds the image and runs the
# container; a terraform_data writes lab.env into the workspace: every name the README's
# commands use, for `. ./lab.env`.
#
# The provider talks to the engine of DOCKER_HOST, else the local socket, like the docker CLI.
# Its destroy fails while the learner's container still uses the network or the volume:
# labrun then removes that container (it is inside the session's network) and destroys again.

terraform {
  required_providers {
    docker = {
      source  = "kreuzwerker/docker"
      version = "~> 3.0"
    }
  }
}

provider "docker" {}

variable "labrun_session" {
  type        = string
  description = "The session id (filled in by labrun)."
}

variable "labrun_labels" {
  type        = map(string)
  description = "The session's Docker labels (filled in by labrun)."
}

variable "labrun_workspace" {
  type        = string
  description = "Absolute path of the learner's workspace (filled in by labrun)."
}

variable "base_image" {
  type        = string
  default     = "python:3.12-slim"
  description = "The Python image learners build FROM. Offline classrooms with their own image: TF_VAR_base_image=IMAGE labrun start docker-basics"
}

variable "max_image_mb" {
  type        = number
  default     = 250
  description = "The largest image, in MB (as `docker image ls` counts them), that passes the size task."
}

locals {
  image      = "labrun/model-server:${var.labrun_session}"
  container  = "model-server-${var.labrun_session}"
  model_name = "house-price"
  lab_env = templatefile("${path.module}/lab.env.tftpl", {
    session    = var.labrun_session
    image      = local.image
    container  = local.container
    network    = docker_network.lab.name
    volume     = docker_volume.models.name
    base_image = var.base_image
    labels     = join(" ", [for key, value in var.labrun_labels : "--label ${key}=${value}"])
  })
}

resource "docker_network" "lab" {
  name   = "labrun-${var.labrun_session}"
  driver = "bridge"

  dynamic "labels" {
    for_each = var.labrun_labels
    content {
      label = labels.key
      value = labels.value
    }
  }
}

resource "docker_volume" "models" {
  name = "labrun-models-${var.labrun_session}"

  dynamic "labels" {
    for_each = var.labrun_labels
    content {
      label = labels.key
      value = labels.value
    }
  }
}

# lab.env stays in the workspace after the lab: it is the learner's folder, never deleted.
resource "terraform_data" "lab_env" {
  input = {
    path    = "${var.labrun_workspace}/lab.env"
    content = local.lab_env
  }

  provisioner "local-exec" {
    command = "printf '%s' \"$LAB_ENV\" > \"$LAB_ENV_PATH\""
    environment = {
      LAB_ENV      = self.input.content
      LAB_ENV_PATH = self.input.path
    }
  }
}

output "image" {
  description = "The tag to build your image with."
  value       = local.image
}

output "container" {
  description = "The name to run your container with."
  value       = local.container
}

output "network" {
  description = "The lab's network: run your container on it."
  value       = docker_network.lab.name
}

output "volume" {
  description = "The lab's volume, for the model: mount it read-only at /models."
  value       = docker_volume.models.name
}

output "model_name" {
  description = "The value of MODEL_NAME for your container."
  value       = local.model_name
}

output "base_image" {
  description = "The Python image to build FROM."
  value       = var.base_image
}

output "max_image_mb" {
  description = "Your image must be smaller than this many MB."
  value       = var.max_image_mb
}
