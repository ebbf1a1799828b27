//! What a long computation is doing now: the pipeline names its stage
//! (reading the data, estimating at iteration k, standard errors, fit
//! measures) and the spinner of `cli::progress` shows it, so that a fit of
//! a model with thousands of variables, which takes a minute, says where it
//! is instead of only how long it has run. One process-wide slot, written
//! rarely (once per stage or iteration) and read by the spinner a few times
//! a second; nothing here affects a result.

use std::sync::Mutex;

/// The current stage and the kinds of stage seen so far (their text before
/// any `:`), in order, at most `KEEP` of them.
struct Stages {
    now: String,
    seen: Vec<String>,
}

const KEEP: usize = 64;

static STAGES: Mutex<Stages> = Mutex::new(Stages {
    now: String::new(),
    seen: Vec::new(),
});

/// Name the stage the computation has reached ("estimating: iteration 3").
pub fn set(stage: impl Into<String>) {
    let stage = stage.into();
    let Ok(mut s) = STAGES.lock() else { return };
    let kind = stage.split(':').next().unwrap_or_default().to_string();
    if s.seen.last() != Some(&kind) && s.seen.len() < KEEP {
        s.seen.push(kind);
    }
    s.now = stage;
}

/// The stage now ("" before the first).
pub fn current() -> String {
    STAGES.lock().map(|s| s.now.clone()).unwrap_or_default()
}

/// The kinds of stage this process went through, in order (the first
/// `KEEP`; a kind repeats when another came between).
pub fn seen() -> Vec<String> {
    STAGES.lock().map(|s| s.seen.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stages_are_kept_by_kind() {
        super::set("test stage a: 1");
        super::set("test stage a: 2");
        assert_eq!(super::current(), "test stage a: 2");
        super::set("test stage b");
        let seen = super::seen();
        let a = seen.iter().position(|k| k == "test stage a").unwrap();
        assert_eq!(seen[a + 1], "test stage b");
    }
}
