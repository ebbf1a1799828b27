//! `--output` never destroys what its name stands for: device nodes, FIFOs,
//! sockets and symlinks stay what they are, a private file stays private, a
//! full device or a read-only directory is an error that says so (exit 2),
//! and a long file name works. The device nodes are private ones made with
//! `mknod` in a scratch directory (never the real `/dev` entries); making
//! them needs root, as CI runs, and the tests that need them say so and
//! stop when they are not root.

mod common;
use common::*;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

const MODEL: &str = "tests/fixtures/fit/hs_cfa/model.lav";
const DATA: &str = "tests/fixtures/fit/hs_cfa/data.csv";

fn fit_to(out: &Path) -> std::process::Output {
    sem(&["fit", MODEL, DATA, "--format", "json", "--output", out.to_str().unwrap()])
}

/// `mknod PATH c MAJOR MINOR`; false when we may not (not root).
fn mknod(path: &Path, major: u32, minor: u32) -> bool {
    let ok = Command::new("mknod")
        .arg(path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot make device nodes here (needs root)");
    }
    ok
}

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!n.ends_with(".tmp"), "temporary file left behind: {n}");
    }
}

#[test]
fn a_null_device_stays_a_device() {
    let d = scratch("null");
    let null = d.join("null");
    if !mknod(&null, 1, 3) {
        return;
    }
    let o = fit_to(&null);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = std::fs::symlink_metadata(&null).unwrap();
    assert!(m.file_type().is_char_device(), "the device node was replaced");
    assert_eq!(m.rdev(), (1 << 8) | 3, "the same device");
    no_temp_files(&d);
}

#[test]
fn a_full_device_is_no_space_left_and_exit_2() {
    let d = scratch("full");
    let full = d.join("full");
    if !mknod(&full, 1, 7) {
        return;
    }
    let o = fit_to(&full);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("no space left on device") && e.contains("full"), "{e}");
    assert!(std::fs::symlink_metadata(&full).unwrap().file_type().is_char_device());
    no_temp_files(&d);
}

#[test]
fn a_fifo_is_written_not_replaced() {
    let d = scratch("fifo");
    let fifo = d.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).unwrap())
    };
    let o = fit_to(&fifo);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = reader.join().unwrap();
    assert!(got.starts_with(b"{"), "the report went through the FIFO");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    no_temp_files(&d);
}

#[test]
fn a_socket_is_written_not_replaced() {
    let d = scratch("socket");
    let sock = d.join("sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = listener.accept().unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        v
    });
    let o = fit_to(&sock);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(reader.join().unwrap().starts_with(b"{"));
    assert!(std::fs::symlink_metadata(&sock).unwrap().file_type().is_socket());
}

#[test]
fn a_private_file_keeps_its_permissions() {
    let d = scratch("private");
    let p = d.join("report.json");
    std::fs::write(&p, "old").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = fit_to(&p);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!(m.mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&p).unwrap().starts_with('{'));
    no_temp_files(&d);
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link() {
    let d = scratch("symlink");
    let target = d.join("target.json");
    std::fs::write(&target, "old").unwrap();
    let link = d.join("link.json");
    std::os::unix::fs::symlink("target.json", &link).unwrap();
    let o = fit_to(&link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target).unwrap().starts_with('{'));
    // a dangling link: its target is created, the link stays
    let dangling = d.join("dangling.json");
    std::os::unix::fs::symlink("new.json", &dangling).unwrap();
    let o = fit_to(&dangling);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(d.join("new.json")).unwrap().starts_with('{'));
    no_temp_files(&d);
}

#[test]
fn a_250_character_name_works() {
    let d = scratch("longname");
    let p = d.join("r".repeat(245) + ".json");
    let o = fit_to(&p);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&p).unwrap().starts_with('{'));
    no_temp_files(&d);
}

#[test]
fn a_new_file_gets_the_umask_mode_and_an_unwritable_directory_is_permission_denied() {
    let d = scratch("perm");
    let p = d.join("new.json");
    let o = fit_to(&p);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // what `touch` would give it under this process's umask
    let probe = d.join("probe");
    std::fs::write(&probe, "").unwrap();
    let want = std::fs::metadata(&probe).unwrap().mode() & 0o777;
    assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, want);
    // as another user, a read-only directory: permission denied, exit 2
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = env!("CARGO_BIN_EXE_sem");
    let model = std::fs::canonicalize(MODEL).unwrap();
    let data = std::fs::canonicalize(DATA).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin, "fit"])
        .arg(&model)
        .arg(&data)
        .arg("--output")
        .arg(ro.join("x.txt"))
        .output();
    match o {
        Ok(o) if !stderr(&o).contains("setpriv:") => {
            if o.status.code() == Some(0) {
                eprintln!("skipped: the other user may write here");
                return;
            }
            assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
            assert!(stderr(&o).contains("permission denied"), "{}", stderr(&o));
        }
        _ => eprintln!("skipped: cannot run as another user (needs root and setpriv)"),
    }
}
