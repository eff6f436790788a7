# A boot menu is imported by its name on the agent.
terraform import netboot_boot_menu.main main
