# An NFS root image is imported by its name on the agent.
terraform import netboot_nfs_root_image.bookworm bookworm
