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
//! translation. `msgmerge` users can merge the template themselves instead.

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
    }
    Ok(lines)
}
