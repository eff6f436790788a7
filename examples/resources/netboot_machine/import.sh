# A machine is imported by its name on the agent.
terraform import netboot_machine.web1 web1
