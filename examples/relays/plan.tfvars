# Inputs of the plan scripts/validate-examples.sh runs.
interface = "eth1"
