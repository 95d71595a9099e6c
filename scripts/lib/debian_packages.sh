# Sourced by scripts/setup.sh and scripts/setup-r.sh.
#
# install_missing_packages WHO PACKAGE...: installs, as root or with sudo, those of the Debian
# PACKAGEs that are not installed, saying so as WHO ("setup: installing 3 package(s): ...");
# quiet when every one is installed (only dpkg-query runs then).
install_missing_packages() {
  local who=$1 p status
  shift
  local missing=()
  for p in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "$who: installing ${#missing[@]} package(s): ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "$who: done"
}
