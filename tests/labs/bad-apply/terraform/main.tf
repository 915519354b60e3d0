variable "labrun_session" { type = string }

resource "terraform_data" "queue" {
  input = "q-${var.labrun_session}"
  provisioner "local-exec" {
    command = "$LABRUN_PYTHON -c 'import boto3,sys; boto3.client(\"sqs\").create_queue(QueueName=sys.argv[1], tags={\"labrun:session\": sys.argv[2]})' ${self.input} ${var.labrun_session}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "$LABRUN_PYTHON -c 'import boto3,sys; c=boto3.client(\"sqs\"); c.delete_queue(QueueUrl=c.get_queue_url(QueueName=sys.argv[1])[\"QueueUrl\"])' ${self.input}"
  }
}

resource "terraform_data" "fails" {
  depends_on = [terraform_data.queue]
  provisioner "local-exec" {
    command = "echo 'the second step breaks' >&2; exit 3"
  }
}
