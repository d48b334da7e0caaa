#!/usr/bin/env bash
# Installs the Debian packages listed in packages.txt that are not installed yet.
set -euo pipefail
here="$(dirname "$0")"
mapfile -t packages < <(grep -v -E '^\s*(#|$)' "$here/packages.txt")

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "apt: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "apt: installing ${missing[*]}"
# Other jobs on the machine may hold the dpkg lock; wait for it instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
export DEBIAN_FRONTEND=noninteractive
apt-get "${apt_opts[@]}" update -qq
# --no-install-recommends keeps needrestart (which slows every later apt call) out.
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
