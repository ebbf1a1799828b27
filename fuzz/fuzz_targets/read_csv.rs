//! Fuzz target `read_csv`: the body lives in `tests/fuzz_harness/mod.rs` so that
//! every crash input kept under `tests/fixtures/fuzz/read_csv/` is replayed by
//! `cargo test` (`tests/fuzz_regressions.rs`).

#![no_main]

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::read_csv(data));
