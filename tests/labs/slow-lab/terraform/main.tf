variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

# The bucket carries every labrun tag from the moment it exists (crash safety), and the
# provisioner then takes its time, as a slow cloud API would.
resource "terraform_data" "bucket" {
  input = { bucket = "slow-${var.labrun_session}", tags = jsonencode(var.labrun_tags) }

  provisioner "local-exec" {
    command = "$LABRUN_PYTHON -c 'import boto3,json,sys; s3=boto3.client(\"s3\"); s3.create_bucket(Bucket=sys.argv[1]); s3.put_bucket_tagging(Bucket=sys.argv[1], Tagging={\"TagSet\": [{\"Key\": k, \"Value\": v} for k, v in json.loads(sys.argv[2]).items()]})' ${self.input.bucket} '${self.input.tags}' && sleep 6"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "sleep 6 && $LABRUN_PYTHON -c 'import boto3,sys; boto3.resource(\"s3\").Bucket(sys.argv[1]).delete()' ${self.input.bucket}"
  }
}

output "bucket" { value = "slow-${var.labrun_session}" }
