# The variables labrun sets for a lab's root module (see docs/lab-format.md).
# Copy this file into your lab's terraform/ folder and delete the ones you do not use:
# labrun fills in only the variables a module declares.

variable "labrun_session" {
  description = "The session id: 8 lowercase letters and digits, safe in resource names."
  type        = string
}

variable "labrun_lab" {
  description = "The lab id."
  type        = string
}

variable "labrun_expires_at" {
  description = "When the session expires (RFC 3339, UTC)."
  type        = string
}

variable "labrun_workspace" {
  description = "Absolute path of the learner's workspace."
  type        = string
}

variable "labrun_tags" {
  description = "AWS tags for every resource: labrun:session, labrun:lab, labrun:owner, labrun:expires-at."
  type        = map(string)
}

variable "labrun_labels" {
  description = "Docker labels for every container, network, volume and image: labrun.session, ..."
  type        = map(string)
}
