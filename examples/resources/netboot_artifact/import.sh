# An artifact is imported by its path on the agent. An artifact uploaded from
# `source` is uploaded again at the next apply: the agent does not know which
# local file it came from.
terraform import netboot_artifact.start_ipxe start.ipxe
