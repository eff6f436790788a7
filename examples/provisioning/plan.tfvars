# Inputs of the plan scripts/validate-examples.sh runs.
password_hash = "$6$rounds=4096$saltsalt$hash"
