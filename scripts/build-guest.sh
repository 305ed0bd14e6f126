#!/usr/bin/env bash
# Builds convoy's test guest: Debian's kernel and an initramfs of busybox and
# guest/dirty.c (a workload that fills and keeps dirtying memory), for the
# mover's real-QEMU tests and the lab. See docs/migrate.md, "The test guest".
#
# Usage: bash scripts/build-guest.sh [OUT_DIR]      (default: target/guest)
#
# Writes OUT_DIR/vmlinuz, OUT_DIR/initramfs.gz and OUT_DIR/guest.json. The
# Debian packages are fetched with `apt-get download` into OUT_DIR/cache and
# unpacked with `dpkg-deb -x`: nothing is installed on this machine, and no
# root is needed (except for an `apt-get update`, run only when apt has no
# package lists to download from).
#
# Idempotent: when the outputs are newer than guest/dirty.c, guest/init and
# this script, and were built from the same kernel package, it does nothing.
#
# Environment:
#   CONVOY_GUEST_KERNEL  the kernel's metapackage (default linux-image-cloud-amd64,
#                        the fastest to boot under TCG; linux-image-amd64 works too)
#   CONVOY_GUEST_FORCE=1 rebuild even when up to date
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/target/guest}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CACHE="$OUT/cache"
META="${CONVOY_GUEST_KERNEL:-linux-image-cloud-amd64}"
SOURCES=("$ROOT/guest/dirty.c" "$ROOT/guest/init" "$ROOT/scripts/build-guest.sh")
OUTPUTS=("$OUT/vmlinuz" "$OUT/initramfs.gz" "$OUT/guest.json")
APPEND_EXAMPLE="console=ttyS0 quiet panic=-1 convoy.fill=160 convoy.wss=32 convoy.dirty=8"

say() { echo "build-guest: $*" >&2; }
die() {
    echo "build-guest: error: $*" >&2
    exit 1
}

for s in "${SOURCES[@]}"; do
    [ -f "$s" ] || die "$s is missing"
done

# One build at a time per output directory (two test runs may start it at once).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9
fi

# --- up to date? ------------------------------------------------------------
up_to_date() {
    [ "${CONVOY_GUEST_FORCE:-0}" = 1 ] && return 1
    local o s
    for o in "${OUTPUTS[@]}"; do
        [ -f "$o" ] || return 1
        for s in "${SOURCES[@]}"; do
            [ "$o" -nt "$s" ] || return 1
        done
    done
    [ "$(cat "$OUT/.kernel-meta" 2>/dev/null)" = "$META" ]
}
if up_to_date; then
    say "up to date: $OUT (kernel from $META; CONVOY_GUEST_FORCE=1 rebuilds)"
    exit 0
fi

# --- tools ------------------------------------------------------------------
need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"
}
need apt-get "this script fetches Debian's packages with apt-get download (a Debian or Ubuntu host)"
need apt-cache "this script resolves Debian's kernel package with apt-cache"
need dpkg-deb "this script unpacks Debian's packages with dpkg-deb (package dpkg)"
need gcc "the guest's workload is compiled with gcc -static (apt-get install gcc libc6-dev)"
need gzip "the initramfs is compressed with gzip"
need find "find (findutils) lists the initramfs's files"

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
APT_OPTS=()
if [ "$(id -u)" = 0 ]; then
    # As root, apt would drop to _apt for the download and warn that it cannot
    # write to the cache; there is nothing to protect here.
    APT_OPTS=(-o APT::Sandbox::User=root)
fi

apt_update() {
    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
        die "apt has no package lists for $*, and refreshing them (apt-get update) needs root: run 'apt-get update' as root, then this script again"
    fi
    say "apt has no usable package lists for $*: running apt-get update"
    $SUDO apt-get update -qq || die "apt-get update failed"
}

# The package behind a metapackage: its first linux-image-* dependency.
resolve_kernel() {
    { apt-cache depends "$META" 2>/dev/null || true; } |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# The candidate version of a package ("" if apt does not know it).
candidate() {
    { apt-cache policy "$1" 2>/dev/null || true; } |
        awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

# Whether apt has any package lists at all.
have_lists() {
    compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null
}

# Downloads package $1 into the cache (unless its candidate is there already);
# prints the .deb's path.
fetch() {
    local pkg="$1" ver deb log
    ver="$(candidate "$pkg")"
    if [ -n "$ver" ]; then
        # apt-get download names the file pkg_version_arch.deb, ':' escaped.
        deb="$(ls "$CACHE/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)"
        if [ -n "$deb" ]; then
            echo "$deb"
            return
        fi
    fi
    log="$CACHE/apt-get-download.log"
    say "apt-get download $pkg${ver:+ ($ver)}"
    if ! (cd "$CACHE" && apt-get "${APT_OPTS[@]}" download "$pkg") >"$log" 2>&1; then
        if grep -qE "Unable to locate|no installation candidate|Can't select|404|Failed to fetch" "$log"; then
            apt_update "$pkg"
            (cd "$CACHE" && apt-get "${APT_OPTS[@]}" download "$pkg") >"$log" 2>&1 ||
                die "apt-get download $pkg failed after apt-get update: $(tail -n 3 "$log")"
        else
            die "apt-get download $pkg failed: $(tail -n 3 "$log")"
        fi
    fi
    ver="$(candidate "$pkg")"
    deb="$(ls -t "$CACHE/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)"
    [ -n "$deb" ] || deb="$(ls -t "$CACHE/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)"
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
    echo "$deb"
}

mkdir -p "$CACHE"

# --- the kernel -------------------------------------------------------------
KPKG="$(resolve_kernel)"
if [ -z "$KPKG" ] && ! have_lists; then
    apt_update "$META"
    KPKG="$(resolve_kernel)"
fi
[ -n "$KPKG" ] || die "apt knows no linux-image-* package behind $META (a Debian amd64 host with main enabled is needed; CONVOY_GUEST_KERNEL names the metapackage)"
KDEB="$(fetch "$KPKG")"
KVER="$(dpkg-deb -f "$KDEB" Version)"
say "kernel: $KPKG $KVER"
rm -rf "$CACHE/kernel"
dpkg-deb -x "$KDEB" "$CACHE/kernel"
VMLINUZ="$(ls "$CACHE"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)"
[ -n "$VMLINUZ" ] || die "$KDEB holds no boot/vmlinuz-*"

# --- busybox ----------------------------------------------------------------
BDEB="$(fetch busybox-static)"
BVER="$(dpkg-deb -f "$BDEB" Version)"
say "busybox: busybox-static $BVER"
rm -rf "$CACHE/busybox"
dpkg-deb -x "$BDEB" "$CACHE/busybox"
BUSYBOX="$CACHE/busybox/bin/busybox"
[ -x "$BUSYBOX" ] || die "$BDEB holds no bin/busybox"

# --- the initramfs ----------------------------------------------------------
STAGE="$CACHE/initramfs"
rm -rf "$STAGE"
mkdir -p "$STAGE"/{bin,dev,proc,sys,tmp}
say "gcc -static -O2 guest/dirty.c"
gcc -static -O2 -Wall -o "$STAGE/bin/dirty" "$ROOT/guest/dirty.c" 2>"$CACHE/gcc.log" ||
    die "compiling guest/dirty.c failed (a static build needs libc6-dev): $(tail -n 5 "$CACHE/gcc.log")"
strip "$STAGE/bin/dirty" 2>/dev/null || true
cp "$BUSYBOX" "$STAGE/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$STAGE/bin/$applet"
done
install -m 0755 "$ROOT/guest/init" "$STAGE/init"

if command -v cpio >/dev/null 2>&1; then
    CPIO=(cpio --quiet -o -H newc -R 0:0)
else
    CPIO=("$BUSYBOX" cpio -o -H newc -R 0:0)
fi

# One newc entry, written by hand: the /dev/console node the kernel opens for
# /init before devtmpfs is mounted (a file list cannot carry a device node
# without root's mknod, and the kernel takes concatenated archives).
newc_entry() { # name mode rdevmajor rdevminor
    local name="$1" namesize=$((${#1} + 1)) pad
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
    printf '%s\0' "$name"
    pad=$(((4 - (110 + namesize) % 4) % 4))
    head -c "$pad" /dev/zero
}
console_archive() {
    newc_entry dev/console $((8#020600)) 5 1
    newc_entry TRAILER!!! 0 0 0
}

TMP="$OUT/.build.$$"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP"
{
    (cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | "${CPIO[@]}")
    console_archive
} | gzip -9 -n >"$TMP/initramfs.gz"
cp "$VMLINUZ" "$TMP/vmlinuz"

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
    echo "{"
    echo "  \"kernel\": $(json_str "$OUT/vmlinuz"),"
    echo "  \"initrd\": $(json_str "$OUT/initramfs.gz"),"
    echo "  \"append_example\": $(json_str "$APPEND_EXAMPLE"),"
    echo "  \"kernel_package\": $(json_str "$KPKG=$KVER"),"
    echo "  \"kernel_metapackage\": $(json_str "$META"),"
    echo "  \"busybox_package\": $(json_str "busybox-static=$BVER")"
    echo "}"
} >"$TMP/guest.json"

mv -f "$TMP/vmlinuz" "$OUT/vmlinuz"
mv -f "$TMP/initramfs.gz" "$OUT/initramfs.gz"
mv -f "$TMP/guest.json" "$OUT/guest.json"
echo "$META" >"$OUT/.kernel-meta"
say "wrote $OUT/vmlinuz ($(du -h "$OUT/vmlinuz" | cut -f1)), $OUT/initramfs.gz ($(du -h "$OUT/initramfs.gz" | cut -f1)), $OUT/guest.json"
