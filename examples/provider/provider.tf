# The embedded default: talk to the local agent through its socket in
# state_dir, launching `terraform-provider-netboot agent` if none answers.
provider "netboot" {}

# A remote agent, started with
#   terraform-provider-netboot agent --listen [::]:7447 \
#     --tls-cert server.pem --tls-key server-key.pem --client-ca ca.pem
provider "netboot" {
  alias       = "rack2"
  endpoint    = "boot2.example.net:7447"
  ca_cert     = file("${path.module}/pki/ca.pem")
  client_cert = "${path.module}/pki/terraform.pem" # a path works as well as PEM text
  client_key  = "${path.module}/pki/terraform-key.pem"
  timeout     = 10
}
