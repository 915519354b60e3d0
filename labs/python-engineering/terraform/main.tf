# python-engineering creates nothing in a cloud: Terraform's builtin terraform_data turns the
# learner's workspace (labrun copied the starter files there just before) into a git
# repository with one commit on main, so the learner starts from a clean history.
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

  provisioner "local-exec" {
    working_dir = self.input
    interpreter = ["/bin/sh", "-c"]
    command     = <<-EOT
      set -eu
      if [ -e .git ]; then
        echo "already a git repository: left as it is"
        exit 0
      fi
      git init --quiet -b main
      # Keep the learner's own identity when git has one; otherwise give this repository one.
      if ! git config user.name >/dev/null || ! git config user.email >/dev/null; then
        git config user.name "Lab Learner"
        git config user.email "learner@labrun.invalid"
      fi
      git add --all
      GIT_AUTHOR_NAME=labrun GIT_AUTHOR_EMAIL=labrun@labrun.invalid \
      GIT_COMMITTER_NAME=labrun GIT_COMMITTER_EMAIL=labrun@labrun.invalid \
        git -c commit.gpgsign=false -c core.hooksPath=/dev/null \
          commit --quiet --no-verify -m "Initial commit: mlmetrics 0.1.0"
      git update-ref refs/labrun/start HEAD
      git log --oneline
    EOT
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
