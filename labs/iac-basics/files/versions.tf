# The Terraform and provider versions this configuration needs. `terraform init` reads this
# file and downloads the aws provider into .terraform/.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}
