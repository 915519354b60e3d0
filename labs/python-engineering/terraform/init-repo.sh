#!/bin/sh
# Run by main.tf in the learner's workspace: make it a git repository with one commit on main.
set -eu
if ! command -v git >/dev/null 2>&1; then
  echo "python-engineering needs git, which is not installed (or not on PATH)" >&2
  exit 1
fi
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
# The starting commit is labrun's, not the learner's, and ignores their signing and hooks.
GIT_AUTHOR_NAME=labrun GIT_AUTHOR_EMAIL=labrun@labrun.invalid \
GIT_COMMITTER_NAME=labrun GIT_COMMITTER_EMAIL=labrun@labrun.invalid \
  git -c commit.gpgsign=false -c core.hooksPath=/dev/null \
    commit --quiet --no-verify -m "Initial commit: mlmetrics 0.1.0"
git update-ref refs/labrun/start HEAD
git log --oneline
