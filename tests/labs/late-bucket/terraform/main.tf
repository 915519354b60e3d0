variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

# A slow cloud API: nothing exists for a few seconds, then the bucket appears, tagged from
# the moment it exists. A labrun process paused or interrupted in between must never let it
# appear once the session is stopped.
resource "terraform_data" "bucket" {
  input = { bucket = "late-${var.labrun_session}", tags = jsonencode(var.labrun_tags) }

  provisioner "local-exec" {
    command = "sleep 4 && $LABRUN_PYTHON -c 'import boto3,json,sys; s3=boto3.client(\"s3\"); s3.create_bucket(Bucket=sys.argv[1]); s3.put_bucket_tagging(Bucket=sys.argv[1], Tagging={\"TagSet\": [{\"Key\": k, \"Value\": v} for k, v in json.loads(sys.argv[2]).items()]})' ${self.input.bucket} '${self.input.tags}'"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "$LABRUN_PYTHON -c 'import boto3,sys; s3=boto3.client(\"s3\"); names=[b[\"Name\"] for b in s3.list_buckets()[\"Buckets\"]]; sys.argv[1] in names and s3.delete_bucket(Bucket=sys.argv[1])' ${self.input.bucket}"
  }
}

output "bucket" { value = "late-${var.labrun_session}" }
