//! Every input the fuzzers (`fuzz/`) ever crashed or stalled on, replayed
//! through the same harness (`tests/fuzz_harness/`). Add a file under
//! `tests/fixtures/fuzz/<target>/` and it is tested.

mod fuzz_harness;

use std::time::{Duration, Instant};

fn replay(target: &str, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let t = Instant::now();
        run(&bytes);
        // the fuzzers time out at 10 s in release; a debug build gets 30 s
        assert!(t.elapsed() < Duration::from_secs(30), "{} is slow", path.display());
        n += 1;
    }
    assert!(n > 0, "no inputs under {}", dir.display());
}

#[test]
fn parse_model_inputs() {
    replay("parse_model", fuzz_harness::parse_model);
}

#[test]
fn read_csv_inputs() {
    replay("read_csv", fuzz_harness::read_csv);
}
