# docker-basics: the lab's network and volume, both carrying the session's labels so that
# `labrun stop` can prove they are gone, and lab.env in the workspace: every name the
# README's commands use, for `. ./lab.env`. The learner builds the image and runs the
# container.
#
# Terraform's builtin provider only (terraform_data), so nothing is downloaded from a
# registry: it runs wherever a Docker engine runs, offline classrooms included. Each object
# is made and removed by docker_engine.py, run by labrun's Python ($LABRUN_PYTHON, which has
# the Docker SDK) against the engine of DOCKER_HOST, else the local socket. Values reach it
# through `environment` only, never spliced into the command (`$${...}` is the shell's
# expansion, escaped from Terraform's; destroy-time provisioners may only use `self`). A destroy of something already
# gone succeeds. A destroy fails while the learner's container still uses the network or the
# volume: labrun then removes that container (it is inside the session's network) and
# destroys again.

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

variable "network_options" {
  type        = map(string)
  default     = {}
  description = "Driver options of the lab's network. A classroom where nothing may listen on other interfaces: TF_VAR_network_options='{\"com.docker.network.bridge.host_binding_ipv4\":\"127.0.0.1\"}'"
}

locals {
  image      = "labrun/model-server:${var.labrun_session}"
  container  = "model-server-${var.labrun_session}"
  network    = "labrun-${var.labrun_session}"
  volume     = "labrun-models-${var.labrun_session}"
  model_name = "house-price"
  lab_env = templatefile("${path.module}/lab.env.tftpl", {
    session    = var.labrun_session
    image      = local.image
    container  = local.container
    network    = terraform_data.network.output.name
    volume     = terraform_data.volume.output.name
    base_image = var.base_image
    labels     = join(" ", [for key, value in var.labrun_labels : "--label ${key}=${value}"])
  })
}

# The image learners build FROM: present, else pulled, else start fails in one line that
# names TF_VAR_base_image. Nothing else is made before it holds.
resource "terraform_data" "base_image" {
  input = var.base_image

  provisioner "local-exec" {
    command = "\"$${LABRUN_PYTHON:-python3}\" \"$ENGINE\" base-image"
    environment = {
      ENGINE = abspath("${path.module}/docker_engine.py")
      IMAGE  = self.input
    }
  }
}

resource "terraform_data" "network" {
  input = {
    name    = local.network
    labels  = jsonencode(var.labrun_labels)
    options = jsonencode(var.network_options)
    engine  = abspath("${path.module}/docker_engine.py")
  }
  depends_on = [terraform_data.base_image]

  provisioner "local-exec" {
    command = "\"$${LABRUN_PYTHON:-python3}\" \"$ENGINE\" network create"
    environment = {
      ENGINE  = self.input.engine
      NAME    = self.input.name
      LABELS  = self.input.labels
      OPTIONS = self.input.options
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "\"$${LABRUN_PYTHON:-python3}\" \"$ENGINE\" network remove"
    environment = {
      ENGINE = self.input.engine
      NAME   = self.input.name
    }
  }
}

resource "terraform_data" "volume" {
  input = {
    name   = local.volume
    labels = jsonencode(var.labrun_labels)
    engine = abspath("${path.module}/docker_engine.py")
  }
  depends_on = [terraform_data.base_image]

  provisioner "local-exec" {
    command = "\"$${LABRUN_PYTHON:-python3}\" \"$ENGINE\" volume create"
    environment = {
      ENGINE = self.input.engine
      NAME   = self.input.name
      LABELS = self.input.labels
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "\"$${LABRUN_PYTHON:-python3}\" \"$ENGINE\" volume remove"
    environment = {
      ENGINE = self.input.engine
      NAME   = self.input.name
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
  value       = terraform_data.network.output.name
}

output "volume" {
  description = "The lab's volume, for the model: mount it read-only at /models."
  value       = terraform_data.volume.output.name
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
