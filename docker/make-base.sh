#!/usr/bin/env bash
# Make a Debian bookworm base image from Debian's own archive (debootstrap + podman import), for a
# machine that cannot pull from a container registry. The root filesystem is cached as a tarball
# in $READERSTUDY_IMAGE_CACHE (default ~/.cache/readerstudy), the image in podman's own store, so a
# second run does nothing.   usage: docker/make-base.sh [IMAGE_NAME]   (needs root)
set -euo pipefail
image=${1:-localhost/readerstudy-base:bookworm}
cache=${READERSTUDY_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/readerstudy}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/bookworm-minbase.tar
if podman image exists "$image"; then echo "$image exists"; exit 0; fi
mkdir -p "$cache"
if [[ ! -f $tarball ]]; then
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  # python3-venv: the Dockerfile makes its virtual environment with the base's python3.
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
podman import --change 'CMD ["/bin/bash"]' "$tarball" "$image"
