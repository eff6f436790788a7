# Inputs of the plan scripts/validate-examples.sh runs.
interface = "eth1"
root_dir  = "/srv/roots/bookworm"
