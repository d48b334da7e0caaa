#!/usr/bin/env bash
# Builds a local Node base image from this host's node, npm and libraries, because no image
# registry is reachable here (docker pull fails). Usage: build-base-image.sh [TAG]
# Skips the build when TAG already holds the same node version.
set -euo pipefail
tag="${1:-falco-alert-receiver/node-base:local}"
node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
npm_dir=/usr/lib/node_modules/npm
ca_bundle=/etc/ssl/certs/ca-certificates.crt

if docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$tag" 2>/dev/null |
  grep -qx "NODE_BASE_VERSION=$node_version"; then
  echo "base image: $tag already has node $node_version"
  exit 0
fi

root="$(mktemp -d)"
cleanup() {
  if [ -d "$root" ]; then rm -rf "$root"; fi
}
trap cleanup EXIT

# Merged /usr, as in Debian 12: everything lives below usr/.
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/etc/ssl/certs "$root"/tmp "$root"/home/node
for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$root/$dir"; done
chmod 1777 "$root/tmp"

# Copies a binary and every shared library ldd lists, at their /usr paths.
copy_with_libs() {
  local binary="$1" target="$2"
  cp -L "$binary" "$root$target"
  ldd "$binary" | grep -o '/[^ ]*' | while read -r lib; do
    local dest="$root/usr${lib#/usr}"
    mkdir -p "$(dirname "$dest")"
    cp -L "$lib" "$dest"
  done
}
copy_with_libs "$node_bin" /usr/bin/node
copy_with_libs /usr/bin/dash /usr/bin/dash
copy_with_libs /usr/bin/env /usr/bin/env
ln -s dash "$root/usr/bin/sh"

# busybox-static gives the usual applets (ls, cat, id, wget...) without more libraries.
cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
  if [ ! -e "$root/usr/bin/$applet" ]; then ln -s busybox "$root/usr/bin/$applet"; fi
done

cp -a "$npm_dir" "$root/usr/lib/node_modules-npm"
mkdir -p "$root/usr/lib/node_modules"
mv "$root/usr/lib/node_modules-npm" "$root/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"

cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"

tar -C "$root" -c . | docker import \
  -c "ENV NODE_BASE_VERSION=$node_version" \
  -c "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  -c "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
  -c 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "base image: built $tag (node $node_version)"
