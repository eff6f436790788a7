# cloud-init: Ubuntu's live server installer is started with the
# machine's NoCloud seed directory, {{ .ConfigURL "" }}, and reads
# user-data and meta-data from it. Its kernel, initrd and ISO are
# netboot_artifacts (left out here).
resource "netboot_boot_entry" "ubuntu" {
  name  = "ubuntu-autoinstall"
  title = "Install Ubuntu (unattended)"
  linux = {
    kernel  = "ubuntu/vmlinuz"
    initrds = ["ubuntu/initrd"]
    args    = "url={{ .HTTPBase }}/ubuntu/live-server.iso autoinstall ds=nocloud;s={{ .ConfigURL \"\" }}"
  }
}

# user-data: the installer's answers (Ubuntu autoinstall, a cloud-config
# with an autoinstall section) and, under user-data, the cloud-config the
# installed system's cloud-init applies at its first boot.
resource "netboot_config" "ubuntu_user_data" {
  name             = "ubuntu-user-data"
  kind             = "autoinstall"
  match_labels     = { os = "ubuntu" }
  sensitive_values = { password_hash = var.password_hash }
  template         = <<-EOT
    #cloud-config
    autoinstall:
      version: 1
      identity:
        hostname: {{ .Hostname }}
        username: {{ .Metadata.admin }}
        password: {{ toJSON .Sensitive.password_hash }}
      storage:
        layout:
          name: lvm
          match:
            path: {{ .Metadata.disk }}
      ssh:
        install-server: true
      user-data:
        timezone: UTC
        runcmd:
          - [sh, -c, "echo {{ .Name }}, installed by netboot > /etc/motd"]
  EOT
}

# meta-data: NoCloud wants it beside user-data; instance-id tells
# cloud-init it is a new instance.
resource "netboot_config" "ubuntu_meta_data" {
  name         = "ubuntu-meta-data"
  kind         = "meta-data"
  match_labels = { os = "ubuntu" }
  template     = "instance-id: {{ .Name }}\nlocal-hostname: {{ .Hostname }}\n"
}
