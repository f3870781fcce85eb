#!/usr/bin/env bash
# macOS, after `cargo xtask ort` and `cargo xtask bundle-universal sideman --release`: puts the ONNX
# Runtime library into both bundles (Contents/MacOS/, beside the plugin binary, where the plugin
# looks for it) and signs them ad hoc (`codesign --sign -`: no Apple Developer ID, so no
# notarization; macOS quarantines the downloaded bundles until the user clears it, see the README).
# nice-plug-xtask signs the bundles too, but before the library is in them: adding a file breaks
# that signature, so they are signed again here.
# The release workflow (.github/workflows/release.yml) runs it; it runs the same on any Mac.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" != Darwin ]; then
  echo "scripts/sign-macos.sh: macOS only (it needs codesign and lipo)" >&2
  exit 1
fi
lib=target/onnxruntime/libonnxruntime.dylib
if [ ! -f "$lib" ]; then
  echo "$lib is missing: run 'cargo xtask ort' first" >&2
  exit 1
fi
for bundle in target/bundled/Sideman.clap target/bundled/Sideman.vst3; do
  if [ ! -f "$bundle/Contents/MacOS/Sideman" ]; then
    echo "$bundle/Contents/MacOS/Sideman is missing: run 'cargo xtask bundle-universal sideman --release' first" >&2
    exit 1
  fi
  cp "$lib" "$bundle/Contents/MacOS/libonnxruntime.dylib"
  # The library first (it replaces the wheel's signature), then the bundle around it.
  codesign --force --sign - "$bundle/Contents/MacOS/libonnxruntime.dylib"
  codesign --force --deep --sign - "$bundle"
  codesign --verify --deep --strict --verbose=2 "$bundle"
  lipo -info "$bundle/Contents/MacOS/Sideman"
done
# PyPI has ONNX Runtime 1.31.1 for macOS only as an arm64 wheel (macOS 14+, no universal2 or
# x86_64 one): on an Intel Mac the universal plugin loads but plays its Markov fallback, and its
# status says why.
lipo -info "$lib"
