#!/usr/bin/env bash
# Windows build and test on Linux, under Wine (issue 13). Builds the Windows bundles with ONNX
# Runtime beside/inside them (`cargo xtask bundle sideman --target x86_64-pc-windows-gnu`), runs
# the Windows clap-validator on the Windows Sideman.clap (0 failed required), then cross-builds the
# clack-host test plugin/tests/windows_play.rs and runs it under Wine: the .clap plays 8 bars of a
# ii-V-I with its default model at 120 BPM, notes on the tick grid, every NoteOn paired, ONNX
# Runtime found beside the plugin.
#
#   scripts/test-windows.sh              debug build (what CI runs)
#   SIDEMAN_WINDOWS_PROFILE=release scripts/test-windows.sh
#
# Needs wine64 and gcc-mingw-w64-x86-64 (installed with apt when missing and running as root; where
# that is impossible the script says so and exits 0). The validator comes from
# $SIDEMAN_WINDOWS_TOOLS, by default ../shared/tools/windows-x86_64/ (skipped with a message when
# absent). Two test-only shims, never shipped (scripts/windows/): bcryptprimitives.dll in the Wine
# prefix (Wine 8 lacks it; Rust programs import it; taken from the tools folder or built here) and
# amx-permit.so preloaded into Wine (see that file).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TRIPLE=x86_64-pc-windows-gnu
PROFILE=${SIDEMAN_WINDOWS_PROFILE:-debug}
TOOLS=${SIDEMAN_WINDOWS_TOOLS:-$ROOT/../shared/tools/windows-x86_64}
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")
BUNDLED=$TARGET_DIR/bundled/$TRIPLE
T_START=$SECONDS
T_STEP=$SECONDS

step() {
    echo "== [$((SECONDS - T_STEP)) s] done; $* (at $((SECONDS - T_START)) s)"
    T_STEP=$SECONDS
}

# A Unix path as Wine sees it (drive Z: is /).
winpath() {
    local p
    p=$(realpath -m "$1")
    echo "Z:${p//\//\\}"
}

find_wine() {
    for w in /usr/lib/wine/wine64 "$(command -v wine64 || true)" "$(command -v wine || true)"; do
        if [ -n "$w" ] && [ -x "$w" ]; then
            echo "$w"
            return
        fi
    done
}

echo "== tools"
WINE=$(find_wine)
missing=()
[ -n "$WINE" ] || missing+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v cc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
        WINE=$(find_wine)
    else
        echo "SKIPPED: the Windows test needs ${missing[*]} (install them with apt as root, e.g." \
            "sudo apt-get install wine64 gcc-mingw-w64-x86-64); nothing was tested"
        exit 0
    fi
fi
rustup target list --installed | grep -qx "$TRIPLE" || rustup target add "$TRIPLE"
echo "wine: $WINE ($("$WINE" --version 2>/dev/null || echo unknown version))"
step "tools ready"

export WINEPREFIX=$TARGET_DIR/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "== creating the Wine prefix $WINEPREFIX"
    "$WINE" wineboot -u >/dev/null 2>&1 || true
    "$(dirname "$WINE")/wineserver" -w 2>/dev/null || true
fi
SYS32=$WINEPREFIX/drive_c/windows/system32
[ -d "$SYS32" ] || { echo "error: Wine did not create $SYS32"; exit 1; }
if [ -f "$TOOLS/bcryptprimitives.dll" ]; then
    cp "$TOOLS/bcryptprimitives.dll" "$SYS32/"
    echo "bcryptprimitives.dll shim from $TOOLS"
else
    x86_64-w64-mingw32-gcc -O2 -shared -o "$SYS32/bcryptprimitives.dll" scripts/windows/bcryptprimitives.c -ladvapi32
    echo "bcryptprimitives.dll shim built from scripts/windows/bcryptprimitives.c"
fi
# Linux grants Intel AMX state only to processes that ask; onnxruntime.dll (built for Windows,
# where every process has it) does not ask and dies on AMX machines: a preloaded test-only shim asks.
mkdir -p "$TARGET_DIR/wine-tools"
cc -O2 -shared -fPIC -o "$TARGET_DIR/wine-tools/amx-permit.so" scripts/windows/amx-permit.c
export LD_PRELOAD=$TARGET_DIR/wine-tools/amx-permit.so${LD_PRELOAD:+:$LD_PRELOAD}
step "Wine prefix ready"

PROFILE_ARGS=()
[ "$PROFILE" = release ] && PROFILE_ARGS=(--release)
echo "== cargo xtask bundle sideman ${PROFILE_ARGS[*]:+${PROFILE_ARGS[*]} }--target $TRIPLE"
cargo xtask bundle sideman "${PROFILE_ARGS[@]}" --target "$TRIPLE"
CLAP=$BUNDLED/Sideman.clap
for f in "$CLAP" "$BUNDLED/onnxruntime.dll" "$BUNDLED/Sideman.vst3/Contents/x86_64-win/Sideman.vst3" \
    "$BUNDLED/Sideman.vst3/Contents/x86_64-win/onnxruntime.dll"; do
    [ -f "$f" ] || { echo "error: $f is missing after bundling"; exit 1; }
done
ls -la "$BUNDLED" "$BUNDLED/Sideman.vst3/Contents/x86_64-win"
step "Windows bundles built"

if [ -f "$TOOLS/clap-validator.exe" ]; then
    echo "== clap-validator.exe validate $(winpath "$CLAP")"
    LOG=$TARGET_DIR/wine-validator.log
    set +e
    "$WINE" "$TOOLS/clap-validator.exe" validate "$(winpath "$CLAP")" >"$LOG" 2>&1
    rc=$?
    set -e
    SUMMARY=$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E '^[0-9]+ tests run' | tail -1 || true)
    sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -E 'FAILED|WARNING' -A3 || true
    echo "validator: ${SUMMARY:-no summary} (exit $rc)"
    if [ -z "$SUMMARY" ] || ! grep -qE ' 0 failed' <<<"$SUMMARY"; then
        echo "error: clap-validator failed on the Windows bundle (full log: $LOG)"
        exit 1
    fi
else
    echo "SKIPPED: clap-validator.exe (not in $TOOLS)"
fi
step "validator"

echo "== cargo test --no-run ${PROFILE_ARGS[*]:+${PROFILE_ARGS[*]} }--target $TRIPLE -p sideman --test windows_play"
EXE=$(cargo test --no-run "${PROFILE_ARGS[@]}" --target "$TRIPLE" -p sideman --test windows_play \
    --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*windows_play[^"]*\.exe\)".*/\1/p' | tail -1)
[ -n "$EXE" ] && [ -f "$EXE" ] || { echo "error: the windows_play test executable was not built"; exit 1; }
step "test host built ($EXE)"

echo "== windows_play under Wine"
LOG=$TARGET_DIR/wine-play.log
set +e
env -u SIDEMAN_ORT_LIB SIDEMAN_CLAP="$(winpath "$CLAP")" SIDEMAN_LOG=1 \
    "$WINE" "$EXE" --nocapture --test-threads=1 >"$LOG" 2>&1
rc=$?
set -e
grep -E '^test |test result|played|panicked|ONNX Runtime|^\[sideman\] model' "$LOG" || true
if [ $rc -ne 0 ] || ! grep -q 'test result: ok. 1 passed' "$LOG"; then
    echo "error: the play test failed under Wine (exit $rc; full log: $LOG)"
    exit 1
fi
if ! grep -q '\[sideman\] ONNX Runtime: found' "$LOG"; then
    echo "error: the plugin's status did not say ONNX Runtime was found (full log: $LOG)"
    exit 1
fi
step "play test passed"
echo "Windows test passed in $((SECONDS - T_START)) s"
