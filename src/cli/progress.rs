//! A spinner on stderr for long runs: a fit that takes more than a second
//! (a wide model, many groups) shows what it is doing and for how long,
//! instead of a silent terminal. It appears only after that second, so quick
//! runs never flicker, and indicatif draws nothing when stderr is not a
//! terminal, so pipes, files and CI logs stay clean. It lives in its own
//! thread and knows nothing of the estimator beyond the stage it names
//! (`crate::stage`): dropping the guard clears it.
//! `SEM_PROGRESS_AFTER_MS` changes the delay (the tests use 0).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The running spinner; dropping it stops and clears it.
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Show `what` (e.g. "fitting model.lav to data.csv") with the elapsed
    /// time, once the run has taken longer than the delay.
    pub fn start(what: String) -> Progress {
        let delay = std::env::var("SEM_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1000);
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if rx.recv_timeout(Duration::from_millis(delay)) != Err(mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            // the stage the pipeline names (`crate::stage`), after `what`
            let message = |stage: &str| {
                if stage.is_empty() {
                    what.clone()
                } else {
                    format!("{what}: {stage}")
                }
            };
            let mut shown = crate::stage::current();
            bar.set_message(message(&shown));
            while rx.recv_timeout(Duration::from_millis(120)) == Err(mpsc::RecvTimeoutError::Timeout) {
                let stage = crate::stage::current();
                if stage != shown {
                    bar.set_message(message(&stage));
                    shown = stage;
                }
                bar.tick();
            }
            bar.finish_and_clear();
        });
        Progress {
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
