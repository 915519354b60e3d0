"""Small labs written into a test's temporary folder, for teardown tests."""

from __future__ import annotations

from pathlib import Path

# The builtin provider only: boto3 in local-exec, in the region of Terraform's environment.
QUEUE_LAB = r"""
variable "labrun_session" { type = string }
variable "labrun_tags" { type = map(string) }

resource "terraform_data" "queue" {
  input = { name = "q-${var.labrun_session}", tags = jsonencode(var.labrun_tags) }

  provisioner "local-exec" {
    command = "$LABRUN_PYTHON -c 'import boto3,json,sys; boto3.client(\"sqs\").create_queue(QueueName=sys.argv[1], tags=json.loads(sys.argv[2]))' ${self.input.name} '${self.input.tags}'"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "$LABRUN_PYTHON -c 'import boto3,sys; c=boto3.client(\"sqs\"); [c.delete_queue(QueueUrl=u) for u in c.list_queues(QueueNamePrefix=sys.argv[1]).get(\"QueueUrls\", [])]' ${self.input.name}"
  }
}
"""  # noqa: E501


def queue_lab(root: Path, requires: str = '["aws"]', main_tf: str = QUEUE_LAB) -> Path:
    """A lab (id queue-lab) whose module is `main_tf`: by default, one SQS queue tagged
    with the session's tags, in the region of its environment, deleted there on destroy."""
    lab = root / "labs" / "queue-lab"
    (lab / "terraform").mkdir(parents=True)
    (lab / "lab.toml").write_text(
        'id = "queue-lab"\ntitle = "Queue"\nsummary = "One queue."\nversion = "1"\n'
        'difficulty = "beginner"\nduration = "10m"\nttl = "1h"\nmax_ttl = "2h"\n'
        f'targets = ["local", "aws"]\nrequires = {requires}\n\n'
        '[[tasks]]\nid = "t"\ntitle = "Look"\npoints = 1\n'
    )
    (lab / "check.py").write_text(
        "from labrun.checks import task\n\n\n@task('t')\ndef t(ctx):\n    pass\n"
    )
    (lab / "terraform" / "main.tf").write_text(main_tf)
    (lab / "README.md").write_text("# Queue\n\nOne queue.\n")
    return root / "labs"


# A destroy that fails every time, over nothing real: only --forget-state ends it.
STUCK_LAB = r"""
resource "terraform_data" "stuck" {
  provisioner "local-exec" {
    when    = destroy
    command = "echo this destroy always fails >&2; exit 1"
  }
}
"""
