#!/usr/bin/env bash
# Reference solution of iac-basics, run in the session's workspace with the session's
# environment (`labrun env`): write the configuration, apply it, then destroy it.
#
# It needs a Terraform with access to the aws provider: `terraform` or `tofu` on PATH (or
# TERRAFORM=/path/to/it), else labrun's embedded one; and the provider registry, or a
# provider mirror in LABRUN_PROVIDER_MIRROR (see `labrun providers mirror`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp "$here/main.tf" "$here/variables.tf" .
printf 'name_prefix = "iac-%s"\n' "$LABRUN_SESSION" > terraform.tfvars

if [ -n "${TERRAFORM:-}" ]; then
    tf=("$TERRAFORM")
elif command -v terraform >/dev/null; then
    tf=(terraform)
elif command -v tofu >/dev/null; then
    tf=(tofu)
else
    tf=("${LABRUN_PYTHON:-python3}" -m labrun.tfworker)   # labrun's embedded Terraform
fi

init_args=(-input=false -no-color)
if [ -n "${LABRUN_PROVIDER_MIRROR:-}" ]; then
    init_args+=(-plugin-dir "$LABRUN_PROVIDER_MIRROR")
fi
"${tf[@]}" init "${init_args[@]}"
"${tf[@]}" apply -auto-approve -input=false -no-color
"${tf[@]}" state list
"${tf[@]}" destroy -auto-approve -input=false -no-color
