#!/usr/bin/env bash
# A stand-in for a cloud's command-line tool, for the `exec` backend of
# `convoy migrate` (protocol: docs/migrate.md). It keeps each VM's state as
# files under $FAKE_CLOUD (default ./fake-cloud) and pretends to copy the VM's
# memory in ten progress steps of $FAKE_CLOUD_STEP_SECONDS (default 0).
# Every step is idempotent, as the protocol asks. A real script would call
# e.g. the cloud's import/replication tool here instead.
set -euo pipefail
step="$1"
state="${FAKE_CLOUD:-./fake-cloud}"
doc="$(cat)"                                   # the move, as JSON on stdin
vm="${CONVOY_VM}"
dir="$state/$vm"
mkdir -p "$dir"
memory_mib="$(printf '%s' "$doc" | sed -n 's/.*"memory_mib":\([0-9]*\).*/\1/p')"
bytes=$(( ${memory_mib:-1} * 1048576 ))
sleep_s="${FAKE_CLOUD_STEP_SECONDS:-0}"
echo "$step" >> "$dir/log"
case "$step" in
  prepare)
    [ -e "$dir/destination" ] || echo incoming > "$dir/destination" ;;
  transfer)
    for i in 1 2 3 4 5 6 7 8 9 10; do
      sleep "$sleep_s"
      echo "progress $(( bytes * i / 10 )) $bytes dirty_rate=1048576 phase=memory"
    done
    echo completed > "$dir/transfer" ;;
  cutover)
    echo running > "$dir/destination"
    echo absent > "$dir/source"
    echo moved >> "$dir/cutovers" ;;
  rollback)
    rm -f "$dir/destination" "$dir/transfer" ;;
  observe)
    src="$(cat "$dir/source" 2>/dev/null || echo running)"
    dst="$(cat "$dir/destination" 2>/dev/null || echo absent)"
    tr="$(cat "$dir/transfer" 2>/dev/null || echo not_started)"
    printf '{"source": "%s", "destination": "%s", "transfer": "%s"}\n' "$src" "$dst" "$tr" ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
esac
