//! `--output FILE`: writing a report without ever destroying what the name
//! stands for. A regular file (or a new one) is replaced atomically: the
//! text goes to a temporary file created exclusively (`create_new`, a short
//! unpredictable name, in the target's directory so the rename stays on one
//! file system), which takes the target's permissions (and owner, where we
//! may) and is then renamed over it; an interrupted run leaves the old file
//! whole. A symlink is followed to its final target, which is written the
//! same way, so the link stays a link. A character device (`/dev/null`), a
//! FIFO or a socket is not a file to replace: it is opened and written as it
//! is. A block device or a directory is refused. Every failure (no space
//! left, permission denied, ...) is reported with the OS's own words and
//! exit code 2, and a temporary file is never left behind.

use crate::pipeline::SemError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

fn fail(path: &Path, why: impl std::fmt::Display) -> SemError {
    SemError::Input(format!("cannot write output file {}: {why}", path.display()))
}

/// An I/O error in words: the OS's description without "(os error N)".
fn words(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// Follow symlinks from `path` to the name that is finally written: an
/// existing non-link, or a name that does not exist yet (a dangling link is
/// written through, creating its target).
fn resolve(path: &Path) -> Result<PathBuf, SemError> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p).map_err(|e| fail(path, words(&e)))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(fail(path, "too many levels of symbolic links"))
}

/// Write `text` to `path` as the module docs say.
pub fn write_output(path: &Path, text: &[u8]) -> Result<(), SemError> {
    let target = resolve(path)?;
    let meta = match std::fs::symlink_metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(path, words(&e))),
    };
    match &meta {
        Some(m) if m.is_dir() => {
            return Err(fail(path, "it is a directory; give a file name"));
        }
        Some(m) if !m.is_file() => return write_special(path, &target, m, text),
        _ => {}
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(fail(
            path,
            format!("the directory {} does not exist; create it first", dir.display()),
        ));
    }
    replace_atomically(path, &target, &dir, meta.as_ref(), text)
}

/// A character device, FIFO or socket: written as it is, never replaced.
#[cfg(unix)]
fn write_special(path: &Path, target: &Path, m: &std::fs::Metadata, text: &[u8]) -> Result<(), SemError> {
    use std::os::unix::fs::FileTypeExt;
    let ft = m.file_type();
    if ft.is_block_device() {
        return Err(fail(path, "it is a block device, not a file; give a file name"));
    }
    let res = if ft.is_socket() {
        std::os::unix::net::UnixStream::connect(target).and_then(|mut s| {
            s.write_all(text)?;
            s.flush()
        })
    } else {
        // a character device or a FIFO
        OpenOptions::new().write(true).open(target).and_then(|mut f| {
            f.write_all(text)?;
            f.flush()
        })
    };
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(path, words(&e))),
        Ok(()) => Ok(()),
    }
}

#[cfg(not(unix))]
fn write_special(path: &Path, _target: &Path, _m: &std::fs::Metadata, _text: &[u8]) -> Result<(), SemError> {
    Err(fail(path, "it is not a regular file; give a file name"))
}

/// A short name nobody can guess: 64 random bits from the standard
/// library's randomly keyed hasher, mixed with the process id and time.
fn temp_name(attempt: u32) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(attempt);
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!(".sem-{:016x}.tmp", h.finish())
}

/// Create the temporary file exclusively (never through a symlink, never
/// an existing file), readable by the owner only until the text is in.
fn create_temp(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    let mut last = None;
    for attempt in 0..16 {
        let p = dir.join(temp_name(attempt));
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        match o.open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name")))
}

/// The process umask, read from /proc (Linux; reading it elsewhere means
/// setting it, which is not thread-safe) or assumed 0022.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

fn replace_atomically(path: &Path, target: &Path, dir: &Path, old: Option<&std::fs::Metadata>, text: &[u8]) -> Result<(), SemError> {
    let (tmp, mut file) = create_temp(dir).map_err(|e| fail(path, words(&e)))?;
    let res = (|| -> std::io::Result<()> {
        file.write_all(text)?;
        file.flush()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            match old {
                Some(m) => {
                    // keep the owner where we may (root, or a group we are in)
                    if m.uid() != file.metadata()?.uid() || m.gid() != file.metadata()?.gid() {
                        let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
                    }
                    file.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
                }
                // a new file: what `open` would have given it
                None => file.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))?,
            }
        }
        #[cfg(not(unix))]
        if let Some(m) = old {
            file.set_permissions(m.permissions())?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, target)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(path, words(&e)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_short_and_differ() {
        let a = temp_name(0);
        let b = temp_name(0);
        assert_ne!(a, b);
        assert_eq!(a.len(), ".sem-".len() + 16 + ".tmp".len());
    }

    #[test]
    fn error_words_drop_the_os_code() {
        let e = std::io::Error::from_raw_os_error(28);
        assert_eq!(words(&e), "no space left on device");
    }
}
