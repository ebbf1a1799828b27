//! Fuzz target `parse_model`: the body lives in `tests/fuzz_harness/mod.rs` so that
//! every crash input kept under `tests/fixtures/fuzz/parse_model/` is replayed by
//! `cargo test` (`tests/fuzz_regressions.rs`).

#![no_main]

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::parse_model(data));
