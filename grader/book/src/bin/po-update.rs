//! Writes `po/messages.pot` from the English book and brings every
//! translation's catalog (`po/zh-CN.po`) up to date with it:
//!
//! ```sh
//! cargo run -p book --bin po-update
//! ```
//!
//! A message whose English is unchanged keeps its translation; a new or
//! changed one is added untranslated (the freshness test then names it); a
//! message the book no longer has is dropped. A message with nothing to
//! translate (only code, numbers and punctuation) gets its English as its
//! translation. Then each translation's README (`README.zh-CN.md`) is
//! written from the README's part for learners. `msgmerge` users can merge the template themselves instead.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    match update(&root) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("po-update: {error}");
            ExitCode::FAILURE
        }
    }
}

fn update(root: &Path) -> Result<Vec<String>, book::BookError> {
    let template = book::l10n::extract(root)?;
    let pot = book::l10n::pot_path(root);
    book::l10n::write_catalog(&template, &pot)?;
    let mut lines = vec![format!(
        "wrote {} ({} messages)",
        pot.display(),
        template.count()
    )];
    for language in book::l10n::TRANSLATIONS {
        let path = book::l10n::po_path(root, language);
        let old = if path.is_file() {
            Some(book::l10n::read_catalog(&path)?)
        } else {
            None
        };
        let (merged, missing) = book::l10n::merge(&template, old.as_ref(), language);
        book::l10n::write_catalog(&merged, &path)?;
        lines.push(format!(
            "wrote {} ({} messages, {missing} to translate)",
            path.display(),
            merged.count()
        ));
        let readme = book::l10n::readme_path(root, language);
        let text = book::l10n::readme(root, language)?;
        std::fs::write(&readme, text).map_err(|source| book::BookError::Io {
            path: readme.clone(),
            source,
        })?;
        lines.push(format!("wrote {}", readme.display()));
    }
    Ok(lines)
}
