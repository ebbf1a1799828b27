//! Fuzz target `read_formats`: the SPSS, Stata and Excel readers on any
//! bytes (seed the corpus with tests/fixtures/formats/*). The body lives in
//! `tests/fuzz_harness/mod.rs`, shared with `tests/formats.rs` and
//! `tests/proptest_inputs.rs`.

#![no_main]

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::read_formats(data, &["x1", "x5", "x7"], Some("school"));
    fuzz_harness::read_formats(data, &["x1"], None);
});
