//! The page: built from the current Rust sources, and served.

mod common;

use std::path::{Path, PathBuf};

use common::{http, start};

/// The Rust sources the page's WebAssembly is built from, relative to
/// `solutions/`.
const SOURCES: [&str; 9] = [
    "A-editor/wasm/Cargo.toml",
    "A-editor/wasm/Cargo.lock",
    "A-editor/wasm/src/lib.rs",
    "A-editor/src/doc.rs",
    "A-editor/src/replica.rs",
    "A-editor/src/rich.rs",
    "A-editor/src/text.rs",
    "A-editor/src/undo.rs",
    "10-collab/src/operation.rs",
];

fn solutions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// FNV-1a, 64 bits: enough to tell that a file changed.
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn record() -> String {
    let mut out = String::from(
        "# The sources page/pkg was built from (solutions/A-editor/wasm/build.sh writes this).\n",
    );
    for source in SOURCES {
        let bytes = std::fs::read(solutions().join(source))
            .unwrap_or_else(|error| panic!("{source}: {error}"));
        // Line endings as committed, whatever a checkout did to them.
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        let mut hash = 0xcbf2_9ce4_8422_2325;
        fnv1a(&mut hash, text.as_bytes());
        out.push_str(&format!("{hash:016x}  {source}\n"));
    }
    out
}

#[test]
fn page_is_built_from_the_current_sources() {
    let path = solutions().join("A-editor/src/page/pkg/SOURCES");
    if std::env::var_os("EDITOR_WASM_RECORD").is_some() {
        std::fs::write(&path, record()).expect("the record is written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed.replace("\r\n", "\n"),
        record(),
        "the page's WebAssembly (solutions/A-editor/src/page/pkg) was built from other sources than \
         these: run solutions/A-editor/wasm/build.sh and commit page/pkg"
    );
}

#[tokio::test]
async fn the_server_serves_the_page_and_its_webassembly() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    for path in ["/", "/d/notes"] {
        let (status, body) = http(address, "GET", path, None, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.as_str()
                .is_some_and(|html| html.contains("/static/editor.js")),
            "{path}"
        );
    }
    let (status, body) = http(address, "GET", "/static/editor.js", None, None).await;
    assert_eq!(status, 200);
    assert!(
        body.as_str()
            .is_some_and(|js| js.contains("editor_wasm.js"))
    );
    let (status, _) = http(address, "GET", "/static/nothing.js", None, None).await;
    assert_eq!(status, 404);
    let wasm = include_bytes!("../../../../solutions/A-editor/src/page/pkg/editor_wasm_bg.wasm");
    assert_eq!(&wasm[..4], b"\0asm", "a WebAssembly module");
    common::within("shutdown", server.shutdown()).await;
}
