variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }
variable "labrun_labels" { type = map(string) }

locals {
  tags   = jsonencode(var.labrun_tags)
  labels = join(" ", [for k, v in var.labrun_labels : "--label ${k}=${v}"])
}

# A versioned bucket with several versions and a delete marker, a queue, and a Docker
# volume: all marked when created, none removed by Terraform's destroy.
resource "terraform_data" "cloud" {
  provisioner "local-exec" {
    command = <<-EOT
      $LABRUN_PYTHON - '${var.labrun_session}' '${local.tags}' <<'PY'
      import json, sys
      import boto3
      session, tags = sys.argv[1], json.loads(sys.argv[2])
      s3 = boto3.client("s3")
      bucket = f"leaky-{session}"
      s3.create_bucket(Bucket=bucket)
      s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
      s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
      for n in range(3):
          s3.put_object(Bucket=bucket, Key="model.bin", Body=b"v%d" % n)
      s3.delete_object(Bucket=bucket, Key="model.bin")
      boto3.client("sqs").create_queue(QueueName=f"leaky-{session}", tags=tags)
      PY
    EOT
  }
}

resource "terraform_data" "volume" {
  provisioner "local-exec" {
    command = "docker volume create ${local.labels} leaky-${var.labrun_session}"
  }
}

output "bucket" { value = "leaky-${var.labrun_session}" }
