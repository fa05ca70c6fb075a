//! The browser page, built into the server (given: you do not write it).
//!
//! Its files sit in `src/page/`: the HTML, the script and the style, and in
//! `src/page/pkg/` the WebAssembly build of the editor's own Rust code
//! (`rich`, `text`, `undo`, `replica`, unit 10's operations) with its
//! wasm-bindgen glue. `solutions/A-editor/wasm/build.sh` rebuilds them.

/// `index.html`: the start page and every document (`/d/ID`).
pub(crate) const INDEX_HTML: &str = include_str!("page/index.html");
/// The page's script.
pub(crate) const EDITOR_JS: &[u8] = include_bytes!("page/editor.js");
/// The page's style.
pub(crate) const EDITOR_CSS: &[u8] = include_bytes!("page/editor.css");
/// The JavaScript glue wasm-bindgen made for the WebAssembly module.
pub(crate) const WASM_GLUE: &[u8] = include_bytes!("page/pkg/editor_wasm.js");
/// The editor's Rust code compiled to WebAssembly.
pub(crate) const WASM: &[u8] = include_bytes!("page/pkg/editor_wasm_bg.wasm");
