#!/usr/bin/env bash
# Rebuilds capstone A's page code: the replica (unit 10's OT, rich text,
# undo; Rust) compiled to WebAssembly, and wasm-bindgen's JavaScript glue,
# into solutions/A-editor/src/page/pkg/. The output is committed, so that the
# course builds and tests with a plain Rust install; run this after changing
# any of the Rust sources the page uses (a test, `page_is_built_from_the_
# current_sources`, says when).
#
#   solutions/A-editor/wasm/build.sh           rebuild and record
#   solutions/A-editor/wasm/build.sh --check   rebuild in a scratch folder and
#                                               compare with what is committed
#
# The toolchain: rustup's wasm32 target when it is installed
# (`rustup target add wasm32-unknown-unknown`), otherwise Debian's
# (`apt-get install rustc-web cargo-web rust-web-src lld`), which builds the
# standard library from source. wasm-bindgen-cli is installed in the version
# of wasm-bindgen in Cargo.lock when it is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
check=false
[ "${1:-}" = "--check" ] && check=true

version=$(grep -A1 '^name = "wasm-bindgen"$' "$here/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')
target_dir="$root/target/wasm"
cd "$here"
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  CARGO_TARGET_DIR="$target_dir" cargo build --release --locked --target wasm32-unknown-unknown
elif [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && command -v wasm-ld >/dev/null \
  && ls /usr/lib/rustlib/src/rust/library >/dev/null 2>&1; then
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
    CARGO_TARGET_DIR="$target_dir" \
    /usr/bin/cargo build --release --locked -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown
else
  echo "no WebAssembly toolchain: run 'rustup target add wasm32-unknown-unknown', or on Debian" >&2
  echo "'apt-get install rustc-web cargo-web rust-web-src lld'" >&2
  exit 1
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then
  cargo install --quiet wasm-bindgen-cli --version "$version"
fi

out="$root/solutions/A-editor/src/page/pkg"
$check && out=$(mktemp -d)
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  "$target_dir/wasm32-unknown-unknown/release/editor_wasm.wasm"

if $check; then
  # The glue is the exported interface: it must be what is committed. (The
  # .wasm itself differs between toolchains, so it is not compared; the
  # record of the sources is, by the test below.)
  if ! diff -u "$root/solutions/A-editor/src/page/pkg/editor_wasm.js" "$out/editor_wasm.js"; then
    echo "the committed page/pkg/editor_wasm.js is not what the sources give: run $0" >&2
    exit 1
  fi
  (cd "$root" && EDITOR_WASM_CHECK=1 cargo test --quiet -p editor --test page page_is_built_from_the_current_sources)
  rm -rf "$out"
  echo "page/pkg matches the sources"
else
  (cd "$root" && EDITOR_WASM_RECORD=1 cargo test --quiet -p editor --test page page_is_built_from_the_current_sources)
  echo "rebuilt $out"
fi
