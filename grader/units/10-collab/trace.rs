//! The editing traces of `grader/units/10-collab/data/` (Joseph Gentle's
//! editing traces, CC BY 4.0: see the README there), read for the
//! maintainers' tests and benches: unit 10's `traces.rs` and `bench.rs`, and
//! capstone A's bench (`mod trace;` with a `#[path]`). Not graded.

use std::io::Read;
use std::path::PathBuf;

use collab::Operation;
use serde_json::Value;

/// The gzipped JSON trace `name`, from the data folder.
pub fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../grader/units/10-collab/data")
        .join(name);
    let file =
        std::fs::File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&json).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// One patch: `(position, deleted, inserted)`, in characters.
pub type Patch = (usize, usize, String);

/// One transaction of a trace.
pub struct Txn {
    /// Who made it (concurrent traces).
    pub agent: usize,
    /// The transactions its author had seen (concurrent traces).
    pub parents: Vec<usize>,
    /// Its patches, in order.
    pub patches: Vec<Patch>,
}

/// The transactions of `trace`.
pub fn txns(trace: &Value) -> Vec<Txn> {
    let Some(list) = trace["txns"].as_array() else {
        panic!("no txns")
    };
    list.iter()
        .map(|txn| Txn {
            agent: txn["agent"].as_u64().map_or(0, |a| a as usize),
            parents: txn["parents"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter_map(Value::as_u64)
                        .map(|p| p as usize)
                        .collect()
                })
                .unwrap_or_default(),
            patches: txn["patches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|patch| {
                    (
                        patch[0].as_u64().unwrap_or_default() as usize,
                        patch[1].as_u64().unwrap_or_default() as usize,
                        patch[2].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// One patch as an operation on a document of `len` characters.
pub fn patch_op(len: usize, (position, deleted, inserted): &Patch) -> Operation {
    Operation::new()
        .retain(*position)
        .delete(*deleted)
        .insert(inserted)
        .retain(len - position - deleted)
}
