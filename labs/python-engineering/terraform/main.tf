# python-engineering creates nothing in a cloud: Terraform's builtin terraform_data runs
# init-repo.sh in the learner's workspace (labrun copied the starter files there just before),
# which makes it a git repository with one commit on main: the learner starts from a clean
# history.
#
# The starting commit is also kept under refs/labrun/start (a ref that `git branch` and
# `git log` do not show), so the checker knows where main was even if the learner moves it.
# Nothing is done at destroy time: the workspace is labrun's folder and holds the
# learner's work, which `labrun stop` must never delete.

variable "labrun_workspace" {
  type        = string
  description = "Absolute path of the learner's workspace (filled in by labrun)."
}

locals {
  branch = "fix-recall"
}

resource "terraform_data" "repository" {
  input = var.labrun_workspace

  # Paths go through the environment, never into the shell string: a workspace under a
  # folder such as /tmp/o'brien must not change the command.
  provisioner "local-exec" {
    working_dir = self.input
    command     = "/bin/sh \"$LAB_INIT_REPO\""
    environment = {
      LAB_INIT_REPO = "${abspath(path.module)}/init-repo.sh"
    }
  }
}

output "repo_path" {
  description = "The git repository to work in (your workspace)."
  value       = terraform_data.repository.output
}

output "branch" {
  description = "The branch your fix and your tests must be committed on."
  value       = local.branch
}
