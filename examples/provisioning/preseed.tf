# Debian preseed: Debian's netboot installer (kernel and initrd from
# debian-installer-12-netboot-amd64, as netboot_artifacts left out here)
# reads the machine's preseed.cfg from url= and, with auto=true and
# priority=critical, asks nothing.
resource "netboot_boot_entry" "debian" {
  name  = "debian-preseed"
  title = "Install Debian (unattended)"
  linux = {
    kernel  = "debian/linux"
    initrds = ["debian/initrd.gz"]
    args    = "auto=true priority=critical url={{ .ConfigURL \"preseed.cfg\" }}"
  }
}

# The installer names the host before it reads a file from url= (with
# priority=critical it asks nothing and takes the name DHCPv6 or DNS give,
# else "debian"), so the machine's host name is written into the installed
# system at the end.
resource "netboot_config" "debian_preseed" {
  name             = "debian-preseed"
  kind             = "preseed"
  match_labels     = { os = "debian" }
  sensitive_values = { password_hash = var.password_hash }
  template         = <<-EOT
    d-i debian-installer/locale string en_US.UTF-8
    d-i keyboard-configuration/xkb-keymap select us
    d-i mirror/country string manual
    d-i mirror/http/hostname string deb.debian.org
    d-i mirror/http/directory string /debian
    d-i mirror/http/proxy string
    d-i clock-setup/utc boolean true
    d-i time/zone string UTC
    d-i passwd/root-login boolean false
    d-i passwd/user-fullname string
    d-i passwd/username string {{ .Metadata.admin }}
    d-i passwd/user-password-crypted password {{ .Sensitive.password_hash }}
    d-i partman-auto/disk string {{ .Metadata.disk }}
    d-i partman-auto/method string regular
    d-i partman-auto/choose_recipe select atomic
    d-i partman-partitioning/confirm_write_new_label boolean true
    d-i partman/confirm boolean true
    d-i partman/confirm_nooverwrite boolean true
    d-i partman/choose_partition select finish
    d-i apt-setup/cdrom/set-first boolean false
    tasksel tasksel/first multiselect standard, ssh-server
    popularity-contest popularity-contest/participate boolean false
    d-i grub-installer/bootdev string default
    d-i preseed/late_command string echo {{ .Hostname }} > /target/etc/hostname; \
        sed -i 's/^127\.0\.1\.1.*/127.0.1.1 {{ .Hostname }}/' /target/etc/hosts
    d-i finish-install/reboot_in_progress note
  EOT
}
