# Shared by the scripts in this folder: install the Debian packages that are missing.
# (Sourced, not run.)

# The packages every build needs: compilers, meson, and the headers the library uses.
build_packages=(
  meson ninja-build pkg-config cmake python3 g++
  libasio-dev nlohmann-json3-dev libnanopb-dev
)

# install_missing PACKAGE...: apt-get installs those not installed yet (with sudo unless root).
install_missing() {
  local missing=()
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if (( ${#missing[@]} == 0 )); then
    return 0
  fi
  local sudo=()
  if (( $(id -u) != 0 )); then
    sudo=(sudo)
  fi
  echo "Installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

# install_missing_without_starting PACKAGE...: install_missing, but a package's service is not
# started (prometheus' postinst would start a system Prometheus on :9090). A postinst starts
# services through invoke-rc.d (sysvinit) or deb-systemd-invoke (systemd), and both first ask
# /usr/sbin/policy-rc.d, whose exit status 101 means "action forbidden" (Debian's policy-rc.d
# interface, /usr/share/doc/init-system-helpers/README.policy-rc.d.gz). One is put there for the
# install and removed afterwards, unless one is there already (Docker images ship one; it is
# left as it is).
install_missing_without_starting() {
  local sudo=()
  if (( $(id -u) != 0 )); then
    sudo=(sudo)
  fi
  local policy=/usr/sbin/policy-rc.d
  local ours=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# scripts/lib.sh: no service starts while packages install\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    ours=true
  fi
  local status=0
  install_missing "$@" || status=$?
  if $ours; then
    "${sudo[@]}" rm -f "$policy"
  fi
  return "$status"
}
