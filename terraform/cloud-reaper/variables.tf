variable "package_dir" {
  type        = string
  description = "The folder `labrun reaper package DIR` wrote: labrun-reaper.zip and sweep-policy.json."
}

variable "owner" {
  type        = string
  default     = null
  description = "The LABRUN_OWNER whose sessions it reaps; null with all_owners = true."
}

variable "all_owners" {
  type        = bool
  default     = false
  description = "Reap every owner's expired sessions (an instructor's account)."
}

variable "every_minutes" {
  type        = number
  default     = 15
  description = "How often it runs, in minutes (at least 1)."
}

variable "budget_usd" {
  type        = number
  default     = null
  description = "A monthly AWS budget on the owner's tag (a backstop: cost data lags by hours). Needs alert and owner."
}

variable "alert" {
  type        = string
  default     = null
  description = "Where the budget's alerts go: an e-mail address or an SNS topic ARN."
}
