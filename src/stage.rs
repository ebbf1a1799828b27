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

impl Stages {
    fn set(&mut self, stage: String) {
        let kind = stage.split(':').next().unwrap_or_default().to_string();
        if self.seen.last() != Some(&kind) && self.seen.len() < KEEP {
            self.seen.push(kind);
        }
        self.now = stage;
    }
}

/// Name the stage the computation has reached ("estimating: iteration 3").
pub fn set(stage: impl Into<String>) {
    if let Ok(mut s) = STAGES.lock() {
        s.set(stage.into());
    }
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
    // on a slot of its own: the process-wide one is shared with every
    // other test that fits a model, and keeps only the first KEEP kinds
    #[test]
    fn stages_are_kept_by_kind() {
        let mut s = super::Stages {
            now: String::new(),
            seen: vec![],
        };
        s.set("test stage a: 1".into());
        s.set("test stage a: 2".into());
        assert_eq!(s.now, "test stage a: 2");
        s.set("test stage b".into());
        s.set("test stage a: 3".into());
        assert_eq!(s.seen, ["test stage a", "test stage b", "test stage a"]);
        for k in 0..2 * super::KEEP {
            s.set(format!("kind {k}"));
        }
        assert_eq!(s.seen.len(), super::KEEP);
        assert_eq!(s.now, format!("kind {}", 2 * super::KEEP - 1));
    }

    #[test]
    fn the_process_wide_slot_shows_the_last_stage() {
        super::set("test stage c: 1");
        // other tests may set theirs in between; this one's text was whole
        let now = super::current();
        assert!(!now.is_empty());
    }
}
