#!/usr/bin/env bash
# Build the api and jobs images from the Containerfile (what `make image` runs).
#
#   deploy/images/build.sh [podman|buildah] [BASE_IMAGE] [TAG]
#
# The build context is a fresh directory holding only the files the images need (git-visible
# files of the packages, the lock file, the submit script) and the verified Delta jars: no
# .git, no data, no tests, no local secrets. Builds use chroot isolation and the host network,
# which work where containers cannot create cgroups or set rlimits (README "Deploy"), and the
# docker image format, whose config keeps the HEALTHCHECK (the OCI format drops it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tool="${1:-$(command -v podman >/dev/null 2>&1 && echo podman || echo buildah)}"
base="${2:-docker.io/library/debian:bookworm-slim}"
tag="${3:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/pyproject.toml")}"  # the package version
python="${PYTHON:-$here/.venv/bin/python}"
# pip inside the build trusts what this host trusts (e.g. a TLS-inspecting proxy's CA),
# passed as a build secret so it never lands in a layer.
ca_bundle="${BUILD_CA_BUNDLE:-${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}"
secret=()
if [[ -f "$ca_bundle" ]]; then
  secret=(--secret "id=ca_bundle,src=$ca_bundle")
fi

context="$(mktemp -d /var/tmp/analytics-context.XXXXXX)"
trap 'rm -rf "$context"' EXIT
cd "$here"
git ls-files -z --cached --others --exclude-standard -- Containerfile pyproject.toml setup.py README.md requirements.lock spark-submit.sh \
    conf contracts jobs privacy_udfs serving deploy/images/jobs-entrypoint.sh \
  | xargs -0 cp --parents -t "$context"
mkdir -p "$context/jars"
for jar in $("$python" -m jobs.delta_jars path | tr ',' ' '); do
  cp "$jar" "$context/jars/"
done

for target in api jobs; do
  image="localhost/analytics-${target}:${tag}"
  case "$tool" in
    podman)
      podman build --quiet --format docker --isolation chroot --network host --layers ${secret[@]+"${secret[@]}"} \
        --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$tag" \
        --target "$target" --tag "$image" --file "$context/Containerfile" "$context" >/dev/null ;;
    buildah)
      buildah build --quiet --format docker --isolation chroot --network host --layers ${secret[@]+"${secret[@]}"} \
        --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$tag" \
        --target "$target" --tag "$image" --file "$context/Containerfile" "$context" >/dev/null ;;
    *) echo "error: unknown image tool '$tool' (podman or buildah)" >&2; exit 2 ;;
  esac
  echo "built $image"
done
