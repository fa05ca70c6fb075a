# The grader's messages to the learner, in English (grader/grader/src/l10n.rs).
# Every message here has its translation in ../zh-CN/grader.ftl, with the same
# variables (a test checks both). The code lays the lines out (indentation,
# ✔/✘/○ marks, blank lines); a message is the text of one line or paragraph.
# CONTRIBUTING.md, "The grader's messages", says how to add one.

## The report (src/render.rs)

report-title = WebSocket Workbook — grading { $submission }
report-column-unit = unit
report-column-state = state
report-column-score = score
report-skipped =
    { $count ->
        [one] ({ $count } check skipped)
       *[other] ({ $count } checks skipped)
    }
report-coming = coming to the course: { $units }
report-total = total { $score }/{ $max }
report-sandbox = sandbox: { $isolation }
report-not-graded-here = { $unit } — not graded here
report-what-to-fix = { $unit } — what to fix
report-course-passes = Every unit of the course passes ({ $graded } of { $available }). Well done!
report-unit-passes = Unit { $unit } passes. (Only unit { $unit } was graded.)
report-units-pass = Units { $units } pass. (Only these { $count } units were graded.)

state-passed = passed
state-not-started = not started
state-does-not-compile = does not compile
state-failing = failing { $failing } of { $graded }

check-visible = visible
check-hidden = hidden
check-heading =
    { $points ->
        [one] { $check } ({ $visibility }, { $points } point) { $outcome }
       *[other] { $check } ({ $visibility }, { $points } points) { $outcome }
    }
check-outcome-failed = failed
check-outcome-timed-out = timed out
check-outcome-error = ended without a result
check-outcome-not-run = was not run
check-outcome-skipped = was skipped
check-outcome-passed = passed
check-skipped =
    { $points ->
        [one] { $check } ({ $visibility }, { $points } point) was skipped: not graded, its points are left out of the total
       *[other] { $check } ({ $visibility }, { $points } points) was skipped: not graded, its points are left out of the total
    }
check-reached-unwritten = reached unwritten code: { $text }
check-hint = hint: { $hint }
check-read = read: { $chapter }

next-unit = Next: unit { $unit } — { $title }
next-label-read = read:
next-label-code = code:
next-label-test = test:
next-label-grade = grade:
next-label-watch = watch:
next-label-stuck = stuck:
next-read = { $chapter }   (or `cargo grade serve`, then http://127.0.0.1:8000/{ $page })
next-watch = cargo grade watch   (checks again on every save; h: a hint, q: quit)
next-whole-course = Where the whole course stands: `cargo grade` (every unit you have started).

## Explanations (src/learner/explain.rs)

build-cargo-said = The unit could not be built. Cargo said:
build-does-not-compile =
    { $count ->
        [one] Your code does not compile. The error:
       *[other] Your code does not compile ({ $count } errors). Fix the first one first: later errors are often caused by it.
    }
build-meaning = What it usually means: { $meaning }.
build-more = More: `rustc --explain { $code }`.
build-other-errors = The other errors:
build-and-more = … and { $count } more
build-manifest-note =
    The grader builds only your src/ with the course's Cargo.toml: a dependency you added
    to the exercise's Cargo.toml is not available here.
    `cd exercises/{ $slug } && cargo build` shows every error in full.

meaning-e0308 = a value's type is not the one expected there: compare the `expected` and `found` lines
meaning-e0425 = a name is not in scope: a typo, or a missing `use`
meaning-e0432 = a path does not resolve: a missing `use`, or a misspelt module or crate
meaning-e0599 = this type has no such method: often a trait that is not imported (`use futures_util::StreamExt;`, `SinkExt`) or a value of another type than you think
meaning-e0382 = a value is used after it was moved: borrow it with `&`, clone it, or move it only once
meaning-e0499 = two borrows conflict: end one borrow before the other starts (a shorter scope, or a copy of what you need)
meaning-e0277 = a type lacks a trait the code needs: with `?`, the error type has no `From` for the function's error type
meaning-e0061 = a function is called with the wrong number of arguments
meaning-e0063 = a struct literal has missing or unknown fields
meaning-e0369 = an operator is used on a type that does not support it
meaning-e0004 = a `match` does not cover every case: add the missing arms (or `_`)
meaning-e0384 = a variable is assigned twice: declare it `let mut`
meaning-e0596 = something is borrowed mutably that is not `mut`: `let mut`, or `&mut self`
meaning-e0728 = `.await` is used outside an `async` function or block

missing-crates =
    { $count ->
        [one] { $names } is not a dependency of this unit.
       *[other] { $names } are not dependencies of this unit.
    } The grader builds your src/ with the course's
    Cargo.toml and ignores the exercise's: a crate you add there (`cargo add`, or an edit to
    exercises/{ $slug }/Cargo.toml) is not available, even when your own `cargo test` passes.
    Use what the course's manifest has instead:
missing-crate-reexport = `{ $name }` → `{ $path }` (re-exported by { $dependency })
missing-crate-reexport-note = `{ $name }` → `{ $path }` (re-exported by { $dependency }): { $note }
missing-crate-example = e.g. `{ $example }`
missing-crate-no-reexport = `{ $name }`: not in this unit's dependencies; write it with the standard library or the crates below
missing-crates-undo =
    and undo your change to exercises/{ $slug }/Cargo.toml (`git diff exercises/{ $slug }/Cargo.toml`).
    This unit's dependencies: { $dependencies }.
reexport-note-futures = `StreamExt`, `SinkExt`, `stream`, `sink` and `future` are there; for channels use `tokio::sync`
reexport-note-bytes = the type `Bytes`
reexport-note-serde-derive = the derives: `use serde::{"{"}Deserialize, Serialize{"}"};`
reexport-note-log = the same macros: `tracing::info!`, `tracing::warn!`

todo-place = the `todo!()`
todo-place-at = the `todo!()` at { $at }
todo-place-in-function = the `todo!()` in `{ $function }` at { $at }
unwritten-reached = It reached code you have not written yet: { $place }.
unwritten-reached-text = It reached code you have not written yet: { $text }
unwritten-where = ({ $place }).
unwritten-stopped = That is where it stopped: it says nothing yet about the code this check is about. Write that part first, then grade again.
unwritten-same-as = It reached the same unwritten code as `{ $check }` above.

failure-timeout = The check was stopped at its time limit. Usually: a loop that never ends, or an `.await` on something that never comes (a read without a timeout, a channel nobody sends on, a lock held across an `.await`).
failure-todo-at = The `todo!()` it reached is at { $at }.
failure-panicked = Your code panicked at { $at }: { $message }
failure-unwrap = An `unwrap()` met a `None` or an `Err`: handle that case (`match`, `?`, or an error value) instead.
failure-index = An index went past the end: use `.get(i)`, which gives an `Option`.
failure-overflow = An arithmetic overflow: use `checked_`/`saturating_` arithmetic, or a wider type.
failure-panic = A panic in your code ends the check: return an error instead.

## `cargo grade list` and the progress bar (src/learner/mod.rs, progress.rs)

list-coming = (coming)
list-serve-note = Chapters are also at http://127.0.0.1:8000/<slug>.html while `cargo grade serve` runs.
progress-not-graded = not graded yet
progress-passed = passed { $score }/{ $max }
progress-checks-pass = { $passed } of { $checks } checks pass
progress-bar = course [{ $bar }] { $passed } of { $units } units passed, { $points }/{ $max } points
progress-bar-coming = { $progress } ({ $coming } more units coming)
progress-not-saved = cargo grade: could not remember this result: { $error }

## `cargo grade hint` (src/learner/hint.rs)

hint-heading = Hint { $index } of { $total } for unit { $unit } ({ $title })
hint-heading-task = Hint { $index } of { $total } for unit { $unit } ({ $title }) — { $task }
hint-last = That was the last hint. The chapter's Hints section has them all (book/{ $chapter }#hints); `cargo grade hint { $unit } --reset` starts over.
hint-more = `cargo grade hint { $unit }` again shows the next one, which is more specific.
hint-reset = The hints of unit { $unit } start again from the first: `cargo grade hint { $unit }`.

## `cargo grade reset` (src/learner/mod.rs, reset.rs)

reset-already-stub = exercises/{ $slug }/ is already the stub of unit { $unit }; nothing to reset.
reset-refused = Not resetting unit { $unit }: exercises/{ $slug }/ has your changes:
reset-force = `cargo grade reset { $unit } --force` saves them to { $backups }/{ $slug }-<time>/ first, then restores the stub.
reset-saved = Saved your code of unit { $unit } to { $backup }/
reset-restored = Restored the stub of exercises/{ $slug }/ ({ $count } file(s) were changed, added or deleted).
reset-get-back = To get a file back: cp { $backup }/src/<file> exercises/{ $slug }/src/
reset-changed = { $path } (changed)
reset-added = { $path } (added)
reset-deleted = { $path } (deleted)

## `cargo grade watch` (src/learner/watch.rs)

watch-not-a-folder = { $dir } is not a folder; `cargo grade watch` watches a copy of exercises/
watch-every-unit-passes = Every unit passes. Well done!
watch-checking = ── unit { $unit } { $title } ── checking { $dir } …
watch-could-not-check = could not check the unit: { $error }
watch-run-failed = the check run failed: { $error }
watch-bye = bye
watch-unit-passes = unit { $unit } passes. { $bar }
watch-now-watching = Now watching unit { $unit }: { $title } — read book/{ $chapter }
watch-all-pass = unit { $unit } passes, and so does every unit. Well done!
watch-waiting = watching { $dir } — save a file to check again · h: next hint · r: run again · q: quit
watch-watcher-stopped = the file watcher stopped
watch-no-hint = no hint: { $error }
watch-cannot-watch = cannot watch { $dir } for changes: { $error }. Without watching, run `cargo grade NN` after each change (on Linux, a low fs.inotify.max_user_watches is the usual cause)
watch-does-not-compile = unit { $unit } does not compile
watch-visible-checks = visible checks: { $passed } of { $total } pass  { $bar }
watch-visible-pass = every visible check passes; the hidden checks (`cargo grade { $unit }`):
watch-all-checks = all checks: { $passed } of { $total } pass, { $score }/{ $max } points  { $bar }
watch-every-failing = `cargo grade { $unit }` lists every failing check.
watch-skipped = { $check } was skipped (not graded)
watch-no-src = { $dir } has no src/ folder

## The command line (src/main.rs)

main-building = building { $units } …
main-built = built { $unit }, running its checks …
main-checked = { $unit }: check { $done } of { $total }
main-unknown-unit = there is no unit { $unit }; `cargo grade list` shows them

## `cargo grade serve` (src/main.rs)

serve-building = building the book into { $dest } …
serve-book = the book:
serve-other-edition = 中文版:
serve-testkit = the testkit server:
serve-stop = press Ctrl-C to stop
