//! `unit.toml` and the check code agree: every behaviour of the syllabus
//! has a check, every check in `unit.toml` exists in its test file and
//! vice versa, and every check's chapter section exists in the chapter.

use std::collections::BTreeSet;

use grader::units::{self, Visibility};

/// The ids inside `checkkit::checks! { … }` of a test file.
fn declared_checks(source: &str) -> BTreeSet<String> {
    let Some(start) = source.find("checkkit::checks!") else {
        return BTreeSet::new();
    };
    let rest = &source[start..];
    let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) else {
        return BTreeSet::new();
    };
    rest[open + 1..close]
        .split(',')
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

/// mdBook's heading ids: lowercase, spaces to `-`, punctuation dropped.
fn heading_ids(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .chars()
                .filter_map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' {
                        Some(c.to_lowercase().collect::<String>())
                    } else if c == ' ' {
                        Some("-".to_owned())
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_unit_is_consistent() {
    let root = grader::repo_root();
    let all = units::load_all(&root).expect("unit.toml files load");
    assert!(!all.is_empty(), "no unit.toml found under grader/units");
    for unit in &all {
        let problems = unit.problems();
        assert!(problems.is_empty(), "unit {}: {problems:#?}", unit.id);

        for visibility in [Visibility::Visible, Visibility::Hidden] {
            let path = match visibility {
                Visibility::Visible => root
                    .join("solutions")
                    .join(&unit.slug)
                    .join("tests/visible.rs"),
                Visibility::Hidden => units::unit_dir(&root, &unit.slug).join("hidden.rs"),
            };
            let source = std::fs::read_to_string(&path).expect("test file exists");
            let in_code = declared_checks(&source);
            let in_toml: BTreeSet<String> = unit
                .checks
                .iter()
                .filter(|check| check.file == visibility)
                .map(|check| check.id.clone())
                .collect();
            assert_eq!(
                in_code,
                in_toml,
                "unit {}: the checks in {} and the {:?} checks in unit.toml differ",
                unit.id,
                path.display(),
                visibility
            );
        }

        let chapter = std::fs::read_to_string(root.join("book").join(&unit.chapter))
            .expect("the unit's chapter exists");
        let ids = heading_ids(&chapter);
        for check in &unit.checks {
            assert!(
                ids.contains(&check.section),
                "unit {}: check {} points to #{} but book/{} has no such heading (it has {ids:?})",
                unit.id,
                check.id,
                check.section,
                unit.chapter
            );
        }
    }
}

#[test]
fn the_heading_id_rule_matches_mdbook() {
    assert_eq!(
        heading_ids("## Task 4: closing properly\n"),
        BTreeSet::from(["task-4-closing-properly".to_owned()])
    );
}
