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
