//! Builds the book at the repository root into `target/book` and lists its problems:
//! `cargo run -p book --example build_book`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dest = root.join("target/book");
    match book::build(&root, &dest) {
        Ok(report) => {
            for problem in &report.problems {
                eprintln!("{problem}");
            }
            eprintln!(
                "{} pages in {}, {} problem(s)",
                report.pages,
                dest.display(),
                report.problems.len()
            );
            if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
