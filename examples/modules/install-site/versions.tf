terraform {
  # optional() object attributes with defaults.
  required_version = ">= 1.3"

  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}
