#!/usr/bin/env bash
# A Python 3.11 base image made without an image registry, for the tests and CI (tests/e2e/test_docker_pool.py):
# Debian bookworm (its python3 is 3.11) from Debian's package mirror with debootstrap, imported into the local Docker
# daemon. Users build FROM python:3.11-slim (the Dockerfile's default BASE_IMAGE); this stands in for it where only
# Debian's packages and the Python package index can be reached. Kept once made: a second call only prints its tag.
#
#   scripts/base_image.sh [TAG]     # default seqconv-base:bookworm; needs root (debootstrap) and a Docker daemon
set -euo pipefail
TAG=${1:-seqconv-base:bookworm}
MIRROR=${SEQCONV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi
command -v debootstrap >/dev/null || { echo "error: debootstrap not found: apt-get install -y debootstrap" >&2; exit 1; }
root=$(mktemp -d /tmp/seqconv-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
# minbase: no init system, no man pages; python3-venv brings ensurepip, so the image's venv gets its own pip
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$MIRROR" \
  >"$root.log" 2>&1 || { echo "error: debootstrap failed: see $root.log" >&2; tail -20 "$root.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
# python:3.11-slim's conventions: `python` on PATH, UTF-8
ln -sf python3 "$root/usr/bin/python"
# This machine's trust store (it may hold a proxy's certificate authority), for pip inside `docker build`: pip
# trusts its own bundle unless PIP_CERT names another.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' -c 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["python3"]' - "$TAG" >/dev/null
rm -f "$root.log"
echo "$TAG"
