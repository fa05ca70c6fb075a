//! The committed `exercises/` is exactly what `cargo grade sync-stubs`
//! makes from `solutions/`: nobody edits a stub by hand, and no solution
//! change ships without its stub.

use grader::{stubs, units};

#[test]
fn committed_exercises_match_the_generator() {
    let root = grader::repo_root();
    let slugs: Vec<String> = units::load_all(&root)
        .expect("unit.toml files load")
        .into_iter()
        .map(|unit| unit.slug)
        .collect();
    let drift = stubs::drift(&root, &slugs).expect("stubs generate");
    let paths: Vec<String> = drift.iter().map(|d| d.path.display().to_string()).collect();
    assert!(
        drift.is_empty(),
        "exercises/ is out of date with solutions/ for {paths:?}; run `cargo grade sync-stubs` and commit the result"
    );
}

#[test]
fn generated_stubs_contain_no_solution_markers() {
    let root = grader::repo_root();
    let slugs: Vec<String> = units::load_all(&root)
        .expect("unit.toml files load")
        .into_iter()
        .map(|unit| unit.slug)
        .collect();
    for (path, bytes) in stubs::generate(&root, &slugs).expect("stubs generate") {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("region: solution") && !text.contains("region: stub"),
            "{} still has a region marker",
            path.display()
        );
    }
}
