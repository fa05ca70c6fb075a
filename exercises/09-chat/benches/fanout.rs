//! The maintainers' fan-out bench lives in `solutions/09-chat/benches/fanout.rs`;
//! it is not part of the exercise.
