//! Helpers shared by the tests that run the `sem` binary as a user would:
//! run it, read its output, and make scratch files.
#![allow(dead_code)]

pub mod lavaan;
pub mod partable;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn sem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sem")).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A fresh scratch directory for one test of this test binary.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sem-{}-{}-{name}", env!("CARGO_CRATE_NAME"), std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}
