//! Unit 03's type-level lesson, proved with the compiler's own words: a
//! handler for the wrong message kind, or one that is not `Send`, does not
//! compile. Each case in `compile_fail/` has the expected compiler output
//! beside it (`*.stderr`); regenerate with `TRYBUILD=overwrite` after a
//! toolchain update and review the diff.
//!
//! This runs in the maintainers' suite (`cargo test --workspace`) against the
//! reference solution. It is not a graded check: the dispatcher's signature
//! is given in the stub, so a learner cannot lose it.

#[test]
fn the_dispatcher_refuses_wrong_and_non_send_handlers() {
    trybuild::TestCases::new().compile_fail(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../grader/units/03-messages/compile_fail/*.rs"
    ));
}
