//! Writing outputs without ever leaving a broken file behind.
//!
//! [`write_atomic`] writes to a temporary file in the target's folder, flushes it to disk
//! and renames it over the target, so a reader (or the user after a crash) sees either
//! the complete old file or the complete new one, never a mix, and no stray temporary file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::error::GrufError;

/// `eprintln!` that never panics: when stderr is closed or full (`gruf train 2>&1 | head`),
/// a message is lost but the run goes on, where `eprintln!` would panic mid-training (and
/// abort in the panic hook). Every message gruf writes to stderr goes through this.
#[macro_export]
macro_rules! eprintln_lossy {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// For fault-injection tests of the binary: when set to N, every file gruf writes fails
/// after N bytes as a full disk does (tests run as root, so permissions cannot make a
/// write fail, and a real full disk cannot be arranged portably).
pub const FAIL_WRITES_AFTER_ENV: &str = "GRUF_TEST_FAIL_WRITES_AFTER";

/// For interruption tests of the binary: when set to N, every file write goes in chunks of
/// 1 KiB with N milliseconds between them, so that a kill can be aimed into the middle of
/// a save (a real save takes microseconds).
pub const SLOW_WRITES_ENV: &str = "GRUF_TEST_SLOW_WRITES_MS";

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), GrufError> {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    let (fail_after, slow) = (number(FAIL_WRITES_AFTER_ENV), number(SLOW_WRITES_ENV));
    write_atomic_via(path, bytes, |file| match (fail_after, slow) {
        (Some(left), _) => Box::new(DiskFull { inner: file, left }),
        (None, Some(ms)) => Box::new(Slow {
            inner: file,
            pause: std::time::Duration::from_millis(ms as u64),
        }),
        (None, None) => Box::new(file),
    })
}

/// A writer that takes at most 1 KiB per call and pauses before each.
struct Slow<W> {
    inner: W,
    pause: std::time::Duration,
}

impl<W: Write> Write for Slow<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.pause);
        self.inner.write(&buf[..buf.len().min(1024)])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that accepts `left` bytes, then fails as a full disk does.
struct DiskFull<W> {
    inner: W,
    left: usize,
}

impl<W: Write> Write for DiskFull<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// [`write_atomic`], writing the bytes through `wrap(temporary file)`: lets tests inject
/// a writer that fails part-way, as a full disk does.
pub fn write_atomic_via(
    path: &Path,
    bytes: &[u8],
    wrap: impl for<'f> FnOnce(&'f mut std::fs::File) -> Box<dyn Write + 'f>,
) -> Result<(), GrufError> {
    let dir = folder_of(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".gruf-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| GrufError::write(path, e, true))?;
    let _pending = Pending::set(tmp.path());
    // Temporary files are created private (0600); give the result the old file's
    // permissions, or the usual ones for a new file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| GrufError::write(path, e, true))?;
    }
    let written = {
        let mut writer = wrap(tmp.as_file_mut());
        writer.write_all(bytes).and_then(|()| writer.flush())
    };
    written
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::StorageFull {
                "free some space or choose another folder; "
            } else {
                ""
            };
            GrufError::write(
                path,
                format!("{e}; {hint}any previous file is unchanged"),
                false,
            )
        })?;
    tmp.persist(path)
        .map_err(|e| GrufError::write(path, e.error, false))?;
    // Make the rename itself durable (best effort: not every platform can open a folder).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    remove_abandoned_temporaries(dir);
    Ok(())
}

/// The temporary file of the save in progress, for [`remove_pending_temporary`].
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Records a save's temporary file for as long as it lives.
struct Pending;

impl Pending {
    fn set(tmp: &Path) -> Pending {
        *PENDING.lock().unwrap_or_else(PoisonError::into_inner) = Some(tmp.to_path_buf());
        Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        PENDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// Deletes the temporary file of a save in progress, if there is one: for an exit that
/// skips destructors (`process::exit` on a second Ctrl-C), which would leave it behind.
/// The target is untouched: it is replaced only by the rename at the end of a save.
pub fn remove_pending_temporary() {
    if let Some(tmp) = PENDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = std::fs::remove_file(tmp);
    }
}

/// The folder `path` will be written in, after checking that the path can be a file
/// there and that the folder takes new files (a probe file is created there and removed;
/// an existing file at `path` is not touched): commands call it before any work, so a typo
/// or a read-only mount fails at once, not after training.
pub fn check_writable(path: &Path) -> Result<&Path, GrufError> {
    let dir = folder_of(path)?;
    tempfile::Builder::new()
        .prefix(".gruf-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            GrufError::write(
                path,
                format!(
                    "cannot create files in folder {} ({}); choose a folder you can write",
                    dir.display(),
                    e.kind()
                ),
                true,
            )
        })?;
    Ok(dir)
}

/// The folder `path` will be written in, after checking that the path can be a file there.
fn folder_of(path: &Path) -> Result<&Path, GrufError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(GrufError::write(
            path,
            "it is a directory; give a file name",
            true,
        ));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(GrufError::write(
            path,
            format!(
                "{} is a file, not a folder; choose another path",
                dir.display()
            ),
            true,
        ));
    }
    if !dir.is_dir() {
        return Err(GrufError::write(
            path,
            format!("folder {} does not exist; create it first", dir.display()),
            true,
        ));
    }
    Ok(dir)
}

/// Writes a command's results to stdout. A failure there (a full disk behind `>`) is a
/// write error naming standard output; a closed pipe stays an `io::Error`, which `main`
/// treats as the reader having seen enough.
pub fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(e.into()),
        Err(e) => Err(GrufError::write(Path::new("standard output"), e, false).into()),
    }
}

/// Temporary files older than this were left by a killed run (a save takes milliseconds).
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes our temporary files that a run killed mid-save (SIGKILL, power loss) left
/// behind; best effort, and only files old enough that no running save can own them.
fn remove_abandoned_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(".gruf-") && name.ends_with(".tmp");
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if ours && old.is_some_and(|age| age > ABANDONED_AFTER) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_part_way_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        write_atomic(&path, b"the old, complete model").unwrap();
        for after in [0, 1, 7, 100] {
            let err = write_atomic_via(&path, &[42u8; 200], |f| {
                Box::new(DiskFull {
                    inner: f,
                    left: after,
                })
            })
            .unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::IO, "{err}");
            assert!(err.to_string().contains("no space left"), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), b"the old, complete model");
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                1,
                "a temporary file was left"
            );
        }
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A temporary file abandoned by a killed run long ago is swept; a fresh one is not.
        let abandoned = dir.path().join(".gruf-old.tmp");
        let fresh = dir.path().join(".gruf-new.tmp");
        std::fs::write(&abandoned, b"partial").unwrap();
        std::fs::write(&fresh, b"partial").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&abandoned)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        write_atomic(&path, b"newer").unwrap();
        assert!(!abandoned.exists() && fresh.exists());
        std::fs::remove_file(&fresh).unwrap();

        let missing = dir.path().join("nope").join("m.bin");
        let err = write_atomic(&missing, b"x").unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}

/// `word` as a shell reads it back: as it is when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside written `'\''`), so that a
/// command gruf suggests runs when pasted.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-/:=,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod shell_tests {
    use super::shell_word;

    #[test]
    fn words_a_shell_would_split_or_expand_are_quoted() {
        assert_eq!(shell_word("models/m.safetensors"), "models/m.safetensors");
        assert_eq!(
            shell_word("my models/m.safetensors"),
            "'my models/m.safetensors'"
        );
        assert_eq!(shell_word("it's$x"), "'it'\\''s$x'");
        assert_eq!(shell_word(""), "''");
    }
}
