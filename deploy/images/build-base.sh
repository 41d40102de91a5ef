#!/usr/bin/env bash
# Build the base image from Debian packages (debootstrap), for machines that reach Debian's
# mirror but no container registry. Equivalent to debian:bookworm-slim plus Python 3.11.
#
#   deploy/images/build-base.sh [IMAGE]        (default localhost/analytics-base:bookworm; needs root)
#
# Pass the result to the image build as BASE_IMAGE (make image does).
set -euo pipefail

image="${1:-localhost/analytics-base:bookworm}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tool="${IMAGE_TOOL:-$(command -v podman >/dev/null 2>&1 && echo podman || echo buildah)}"

if "$tool" image exists "$image" 2>/dev/null || "$tool" inspect --type image "$image" >/dev/null 2>&1; then
  echo "base image $image exists; remove it to rebuild" >&2
  exit 0
fi
command -v debootstrap >/dev/null || { echo "error: debootstrap is required (apt-get install debootstrap)" >&2; exit 2; }
root="$(mktemp -d /var/tmp/analytics-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$root" "$mirror" >/dev/null
# Like the slim images: no apt lists, docs or man pages, no host files.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/var/cache/debconf/*-old "$root"/var/log/*.log
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"
tar --numeric-owner -C "$root" -c . | "$tool" import \
  --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
echo "built $image"
