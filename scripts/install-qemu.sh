#!/usr/bin/env bash
# Installs QEMU (qemu-system-x86 and qemu-utils) from Debian's packages, for the
# mover's real-QEMU tests and the lab.
#
# On Debian bookworm, QEMU's packages must all come from one release: a machine
# whose qemu-utils already comes from bookworm-backports gets qemu-system-x86 from
# bookworm-backports too (the apt source is added if it is absent, on the same
# mirror as the machine's bookworm source). A plain bookworm machine gets both
# from bookworm itself. Idempotent: running it again changes nothing.
#
# Usage: bash scripts/install-qemu.sh [--force]   (as root, or with sudo available)
# Without --force it does nothing when QEMU is already installed.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# One install at a time: the tests run in parallel and each may ask for QEMU.
exec 9>"${TMPDIR:-/tmp}/convoy-install-qemu.lock"
flock 9
if [ "${1:-}" != "--force" ] && command -v qemu-system-x86_64 >/dev/null &&
    command -v qemu-img >/dev/null; then
    echo "install-qemu: already installed: $(qemu-system-x86_64 --version | head -1)"
    exit 0
fi

echo "install-qemu: apt-get update"
$SUDO apt-get update -qq

codename=""
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
fi

# The version of qemu-utils already installed, if any ("" when absent).
installed_utils="$(dpkg-query -W -f='${Status} ${Version}\n' qemu-utils 2>/dev/null |
    awk '$3 == "installed" { print $4 }')"

target=()
if [ "$codename" = bookworm ] && [[ "$installed_utils" == *bpo12* ]]; then
    echo "install-qemu: qemu-utils $installed_utils comes from bookworm-backports; taking qemu-system-x86 from there too"
    has_backports() {
        grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' \
            /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
    }
    if ! has_backports; then
        # Reuse the mirror the machine already uses for bookworm's main archive,
        # so that no host name is hard-wired here.
        mirror="$(apt-cache policy 2>/dev/null |
            awk '$3 == "bookworm/main" && $2 ~ /^https?:/ { print $2; exit }')"
        if [ -z "$mirror" ]; then
            echo "install-qemu: no apt source for bookworm/main found; cannot add bookworm-backports" >&2
            exit 1
        fi
        echo "install-qemu: adding apt source bookworm-backports ($mirror)"
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        {
            echo "Types: deb"
            echo "URIs: $mirror"
            echo "Suites: bookworm-backports"
            echo "Components: main"
            if [ -r "$keyring" ]; then
                echo "Signed-By: $keyring"
            fi
        } | $SUDO tee /etc/apt/sources.list.d/convoy-bookworm-backports.sources >/dev/null
        $SUDO apt-get update -qq
    fi
    # -t raises bookworm-backports above bookworm for this install, so that
    # qemu-system-x86's dependencies (qemu-system-common, -data, ...) match it.
    target=(-t bookworm-backports)
fi

echo "install-qemu: apt-get install ${target[*]} qemu-system-x86 qemu-utils"
$SUDO apt-get install -y -qq --no-install-recommends "${target[@]}" qemu-system-x86 qemu-utils >/dev/null

qemu-system-x86_64 --version | head -n 1
qemu-img --version | head -n 1
