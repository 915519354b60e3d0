variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

locals {
  bucket = "hello-${var.labrun_session}"
}

# The builtin provider only: create and delete the bucket in the session's cloud with boto3.
resource "terraform_data" "bucket" {
  input = { bucket = local.bucket, tags = jsonencode(var.labrun_tags) }

  provisioner "local-exec" {
    command = "$LABRUN_PYTHON -c 'import boto3,json,sys; s3=boto3.client(\"s3\"); s3.create_bucket(Bucket=sys.argv[1]); s3.put_bucket_tagging(Bucket=sys.argv[1], Tagging={\"TagSet\": [{\"Key\": k, \"Value\": v} for k, v in json.loads(sys.argv[2]).items()]})' \"$BUCKET\" \"$TAGS\""
    environment = { BUCKET = self.input.bucket, TAGS = self.input.tags }
  }

  provisioner "local-exec" {
    when    = destroy
    command = "$LABRUN_PYTHON -c 'import boto3,sys; b=boto3.resource(\"s3\").Bucket(sys.argv[1]); b.creation_date and (b.objects.all().delete(), b.delete())' \"$BUCKET\""
    environment = { BUCKET = self.input.bucket }
  }
}

output "bucket" { value = local.bucket }
