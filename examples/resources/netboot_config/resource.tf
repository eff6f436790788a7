# cloud-init user-data for every machine labelled role = "web", served to
# each at {{ .ConfigURL "user-data" }} with its own values.
resource "netboot_config" "web_user_data" {
  name             = "web-user-data"
  kind             = "cloud-config"
  match_labels     = { role = "web" }
  sensitive_values = { password_hash = var.password_hash }
  template         = <<-EOT
    #cloud-config
    hostname: {{ .Hostname }}
    users:
      - name: {{ .Metadata.ssh_user }}
        passwd: {{ toJSON .Sensitive.password_hash }}
        ssh_authorized_keys: [{{ toJSON .Metadata.ssh_key }}]
  EOT
}

variable "password_hash" {
  type      = string
  sensitive = true
  default   = "$6$rounds=4096$saltsalt$hash"
}
