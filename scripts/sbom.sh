#!/usr/bin/env bash
# Writes the software bill of materials of an image as SPDX JSON with syft, which it builds
# from the Go module proxy the first time (into .cache/tools; Go's own module and build caches
# keep a rebuild short):
#
#   scripts/sbom.sh IMAGE OUTPUT.spdx.json      e.g. scripts/sbom.sh instance-reconciler:dev sbom.json
#
# The image is read from podman's storage through `podman save` (no daemon socket needed).
# The last line printed is the number of packages found.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${RECONCILER_CACHE_DIR:-$root/.cache}"
image="${1:?usage: sbom.sh IMAGE OUTPUT}"
output="${2:?usage: sbom.sh IMAGE OUTPUT}"
# A release the proxy serves; syft's own go.mod names the Go it needs (1.24 or newer).
syft_version=v1.57.2
syft="$cache/tools/syft-$syft_version/syft"

if [ ! -x "$syft" ]; then
  command -v go >/dev/null 2>&1 || {
    echo "sbom: go not found; install Go 1.24 or newer (Debian 12's golang-go is too old for syft)" >&2
    exit 1
  }
  echo "sbom: go install github.com/anchore/syft/cmd/syft@$syft_version (a few minutes, once)" >&2
  GOBIN="$(dirname "$syft")" GOFLAGS=-modcacherw go install "github.com/anchore/syft/cmd/syft@$syft_version"
fi

work=$(mktemp -d /tmp/reconciler-sbom.XXXXXX)
trap 'rm -rf "$work"' EXIT
podman save -q --format docker-archive -o "$work/image.tar" "$image"
SYFT_CHECK_FOR_APP_UPDATE=false "$syft" scan -q "docker-archive:$work/image.tar" \
  --source-name "${image%%:*}" --source-version "${image#*:}" -o "spdx-json=$output"
python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]), "packages in", sys.argv[1])' "$output"
