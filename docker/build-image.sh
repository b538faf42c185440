#!/usr/bin/env bash
# Builds the ferry container image FROM scratch: the `ferry` binary (a stripped copy), the shared
# libraries it links and its dynamic loader (copied from this host at the paths `ldd` names),
# /etc/passwd and /etc/group with the user ferry (uid/gid 1000) and root, an empty /data owned by
# ferry (declared a VOLUME), and /tmp (mode 1777). No shell, no package manager, nothing pulled
# from a registry: docker/Dockerfile COPYs the root filesystem prepared here in a temporary
# build context. Prints the image's size at the end. Safe to run again (it rebuilds the tag).
#
# Environment:
#   FERRY_IMAGE  the tag to build (default ferry:latest)
#   FERRY_BIN    the ferry binary to put in the image; unset: `cargo build --release -p ferry`
#                and target/release/ferry (under $CARGO_TARGET_DIR when set)
#   FERRY_STRIP  how the binary copy is stripped: `debug` (default: drop the debug info, keep the
#                symbols, so that backtraces name functions) or `all` (smallest)
#
# Usage: docker/build-image.sh            (from anywhere; paths are relative to the repository)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${FERRY_IMAGE:-ferry:latest}"
strip_mode="${FERRY_STRIP:-debug}"

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null || die "docker not found"

# ----- the binary ---------------------------------------------------------------------------
if [[ -n "${FERRY_BIN:-}" ]]; then
    bin="$FERRY_BIN"
    [[ "$bin" = /* ]] || bin="$PWD/$bin"
else
    say "cargo build --release -p ferry"
    (cd "$repo_root" && cargo build --release -p ferry)
    bin="${CARGO_TARGET_DIR:-$repo_root/target}/release/ferry"
    [[ "$bin" = /* ]] || bin="$repo_root/$bin"
fi
[[ -x "$bin" ]] || die "no executable ferry binary at $bin (set FERRY_BIN)"

# ----- the build context --------------------------------------------------------------------
context="$(mktemp -d "${TMPDIR:-/tmp}/ferry-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
rootfs="$context/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$context/data"
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs" "$rootfs/usr" "$rootfs/usr/local" "$rootfs/usr/local/bin" "$rootfs/etc" \
    "$context/data"

# A stripped copy of the binary (the original is left as it is).
target="$rootfs/usr/local/bin/ferry"
case "$strip_mode" in
    debug) strip_args=(--strip-debug) ;;
    all) strip_args=(--strip-all) ;;
    *) die "FERRY_STRIP must be debug or all, not $strip_mode" ;;
esac
if command -v strip >/dev/null; then
    strip "${strip_args[@]}" -o "$target" "$bin"
elif command -v objcopy >/dev/null; then
    objcopy "${strip_args[@]}" "$bin" "$target"
else
    die "neither strip nor objcopy found (Debian: apt-get install binutils)"
fi
chmod 0755 "$target"

# The shared libraries and the dynamic loader, at the paths the binary looks them up.
# ldd's lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", the loader as
# "/lib64/ld-linux-x86-64.so.2 (0x...)", the vDSO without a path (nothing to copy).
if ldd_out="$(ldd "$bin" 2>&1)"; then
    if grep -q "not found" <<<"$ldd_out"; then
        die "libraries of $bin not found on this host:"$'\n'"$ldd_out"
    fi
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"  # the file itself, not a symlink to elsewhere
        chmod 0755 "$rootfs$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out" \
             | sort -u)
elif grep -qE "not a dynamic executable|statically linked" <<<"$ldd_out"; then
    say "$bin is statically linked: no libraries to copy"
else
    die "ldd $bin failed: $ldd_out"
fi

# Users and groups: root, and ferry (1000:1000) that the container runs as.
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
ferry:x:1000:1000:ferry:/data:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
ferry:x:1000:
EOF
# Name lookups from /etc/hosts first, then DNS (Docker's embedded server for service names).
echo "hosts: files dns" >"$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"

cp "$repo_root/docker/Dockerfile" "$context/Dockerfile"

# ----- the image ----------------------------------------------------------------------------
say "building $image from $bin ($(du -h "$target" | cut -f1) stripped)"
docker build --quiet --tag "$image" "$context" >/dev/null
size="$(docker image inspect -f '{{.Size}}' "$image")"
say "$image: $size bytes ($(( (size + 524288) / 1048576 )) MiB)"
echo "$size"
