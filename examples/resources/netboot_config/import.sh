# A config is imported by its name on the agent.
terraform import netboot_config.web_user_data web-user-data
