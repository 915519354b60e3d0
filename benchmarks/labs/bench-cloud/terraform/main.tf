# One bucket in the local cloud and one Docker network, each marked with the session. The
# values reach the commands through `environment`, never spliced into the shell string.

variable "labrun_session" {
  type        = string
  description = "The session id: 8 lowercase letters and digits, safe in resource names."
}

variable "labrun_tags" {
  type        = map(string)
  description = "The AWS tags that mark the session's resources."
}

variable "labrun_labels" {
  type        = map(string)
  description = "The Docker labels that mark the session's resources."
}

locals {
  name = "bench-${var.labrun_session}"
  # S3's PutBucketTagging body, with the session's marks.
  tagging = "<Tagging><TagSet>${join("", [for k, v in var.labrun_tags : "<Tag><Key>${k}</Key><Value>${v}</Value></Tag>"])}</TagSet></Tagging>"
  labels  = join(" ", [for k, v in var.labrun_labels : "--label=${k}=${v}"])
}

resource "terraform_data" "bucket" {
  input = { name = local.name, tagging = local.tagging }

  provisioner "local-exec" {
    command     = "curl -sf -X PUT \"$AWS_ENDPOINT_URL/$NAME\" >/dev/null && curl -sf -X PUT -H \"Content-Type: application/xml\" --data-binary \"$TAGGING\" \"$AWS_ENDPOINT_URL/$NAME?tagging\" >/dev/null"
    environment = { NAME = self.input.name, TAGGING = self.input.tagging }
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "curl -s -o /dev/null -X DELETE \"$AWS_ENDPOINT_URL/$NAME\""
    environment = { NAME = self.input.name }
  }
}

resource "terraform_data" "network" {
  input = { name = local.name, labels = local.labels }

  provisioner "local-exec" {
    command     = "docker network create $LABELS \"$NAME\" >/dev/null"
    environment = { NAME = self.input.name, LABELS = self.input.labels }
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "docker network rm \"$NAME\" >/dev/null 2>&1 || ! docker network inspect \"$NAME\" >/dev/null 2>&1"
    environment = { NAME = self.input.name }
  }
}

output "bucket" {
  description = "The lab's bucket."
  value       = terraform_data.bucket.output.name
}

output "network" {
  description = "The lab's Docker network."
  value       = terraform_data.network.output.name
}
