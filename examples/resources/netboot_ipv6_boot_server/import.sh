# A boot server is imported by its name on the agent.
terraform import netboot_ipv6_boot_server.lab lab
