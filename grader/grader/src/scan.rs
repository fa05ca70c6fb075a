//! PLACEHOLDER until the scanner lands.
use std::path::Path;

/// A finding.
#[derive(Debug)]
pub struct Finding(pub String);

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Scans.
pub fn scan_dir(_src: &Path) -> Result<Vec<Finding>, crate::GraderError> {
    Ok(Vec::new())
}
