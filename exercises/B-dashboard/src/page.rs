//! The browser page, built into the server (given: you do not write it).
//!
//! Its files sit in `src/page/`: the HTML, the script and the style, and in
//! `src/page/vendor/` uPlot, the chart library, as published on npm (its
//! version, source and licence in `src/page/vendor/README.md`).

/// `index.html`, served at `/`.
pub(crate) const INDEX_HTML: &str = include_str!("page/index.html");
/// The page's script (an ES module).
pub(crate) const DASHBOARD_JS: &str = include_str!("page/dashboard.js");
/// The page's style.
pub(crate) const DASHBOARD_CSS: &str = include_str!("page/dashboard.css");
/// uPlot's script.
pub(crate) const UPLOT_JS: &str = include_str!("page/vendor/uPlot.iife.min.js");
/// uPlot's style.
pub(crate) const UPLOT_CSS: &str = include_str!("page/vendor/uPlot.min.css");
