# A boot entry is imported by its name on the agent.
terraform import netboot_boot_entry.centos centos
