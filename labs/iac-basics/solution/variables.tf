variable "name_prefix" {
  type        = string
  description = "Starts the name of everything this configuration creates, e.g. iac-k3v9q2mz."
}
