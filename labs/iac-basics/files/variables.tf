# Your input variables. TODO: declare the variable name_prefix (a string) here, and set its
# value in terraform.tfvars.
