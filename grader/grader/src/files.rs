//! File-system helpers shared by the generator and the grader.
//!
//! Two rules matter for grading: files are written only when their
//! contents change (so Cargo's mtime-based fingerprints stay valid and a
//! warm `cargo grade 01` rebuilds nothing), and symbolic links in a
//! submission are refused rather than followed (a link could point at the
//! reference solution or outside the submission).

use std::path::{Path, PathBuf};

use crate::GraderError;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GraderError + '_ {
    move |source| GraderError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Every regular file below `dir`, sorted, skipping `target/` folders.
/// A symbolic link is an error.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, GraderError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).map_err(io(&current))? {
            let entry = entry.map_err(io(&current))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_symlink() {
                return Err(GraderError::Symlink(path));
            } else if kind.is_dir() {
                if entry.file_name() != "target" {
                    pending.push(path);
                }
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a UTF-8 text file.
pub fn read(path: &Path) -> Result<String, GraderError> {
    std::fs::read_to_string(path).map_err(io(path))
}

/// Writes `contents` unless the file already holds exactly that; creates
/// parent folders. Returns whether it wrote.
pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool, GraderError> {
    write_bytes_if_changed(path, contents.as_bytes())
}

/// Byte version of [`write_if_changed`].
pub fn write_bytes_if_changed(path: &Path, contents: &[u8]) -> Result<bool, GraderError> {
    if std::fs::read(path).is_ok_and(|current| current == contents) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, contents).map_err(io(path))?;
    Ok(true)
}

/// Writes `contents` to `path` atomically: into a new temporary file in the
/// same folder (named `.<name>.<pid>.<n>.tmp`, created exclusively), flushed
/// to disk, then renamed over `path`. A reader sees the old file or the new
/// one, never a part of either; an existing file is replaced. Creates parent
/// folders. On an error the temporary file is removed and `path` is left as
/// it was.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), GraderError> {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    let name = path.file_name().ok_or_else(|| GraderError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "expected a file name, not a folder",
        ),
    })?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let (file, temporary) = loop {
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temporary = parent.join(temporary_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
        {
            Ok(file) => break (file, temporary),
            // Left over by a grader that was killed: take the next number.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(io(&temporary)(error)),
        }
    };
    let written = (|| {
        let mut file = file;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)
    })();
    written.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        io(path)(error)
    })
}

/// Removes a file if it exists.
pub fn remove(path: &Path) -> Result<(), GraderError> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(path)(error)),
        _ => Ok(()),
    }
}

/// Makes `dest` hold exactly the regular files of `src` (same relative
/// paths and bytes): copies what differs, deletes what is extra. Refuses
/// symbolic links in `src`.
pub fn mirror(src: &Path, dest: &Path) -> Result<(), GraderError> {
    let wanted = list(src)?;
    let mut keep = std::collections::BTreeSet::new();
    for path in &wanted {
        let relative = path.strip_prefix(src).unwrap_or(path);
        let bytes = std::fs::read(path).map_err(io(path))?;
        write_bytes_if_changed(&dest.join(relative), &bytes)?;
        keep.insert(relative.to_owned());
    }
    if dest.exists() {
        for path in list(dest)? {
            let relative = path.strip_prefix(dest).unwrap_or(&path);
            if !keep.contains(relative) {
                remove(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsw-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn unchanged_files_are_not_rewritten() {
        let dir = scratch("unchanged");
        let file = dir.join("a/b.txt");
        assert!(write_if_changed(&file, "x").expect("write"));
        assert!(!write_if_changed(&file, "x").expect("write"));
        assert!(write_if_changed(&file, "y").expect("write"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn mirror_copies_and_prunes() {
        let dir = scratch("mirror");
        let (src, dest) = (dir.join("src"), dir.join("dest"));
        write_if_changed(&src.join("lib.rs"), "lib").expect("write");
        write_if_changed(&src.join("m/mod.rs"), "m").expect("write");
        write_if_changed(&dest.join("old.rs"), "old").expect("write");
        mirror(&src, &dest).expect("mirror");
        assert_eq!(read(&dest.join("m/mod.rs")).expect("copied"), "m");
        assert!(!dest.join("old.rs").exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn atomic_writes_replace_the_file_and_leave_no_temporary() {
        let dir = scratch("atomic");
        let file = dir.join("out/report.json");
        write_atomic(&file, b"old").expect("write");
        assert_eq!(read(&file).expect("written"), "old");
        #[cfg(unix)]
        let before = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&file).expect("metadata").ino()
        };
        // A reader that opened the old file keeps reading all of it.
        let mut old = std::fs::File::open(&file).expect("open");
        write_atomic(&file, b"new contents").expect("replace");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut old, &mut text).expect("read");
        assert_eq!(text, "old");
        assert_eq!(read(&file).expect("replaced"), "new contents");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let after = std::fs::metadata(&file).expect("metadata").ino();
            assert_ne!(
                before, after,
                "a new file was renamed in, not the old one rewritten"
            );
        }
        let names: Vec<String> = std::fs::read_dir(dir.join("out"))
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["report.json"], "no temporary file is left");
        // A folder is not a file name.
        assert!(write_atomic(&dir.join("out/.."), b"x").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_reader_never_sees_a_partial_file() {
        let dir = scratch("atomic-reader");
        let file = dir.join("summary.csv");
        let (a, b) = (vec![b'a'; 1 << 20], vec![b'b'; 1 << 20]);
        write_atomic(&file, &a).expect("write");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (file, stop) = (file.clone(), stop.clone());
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let seen = std::fs::read(&file).expect("the file is always there");
                    assert!(
                        seen == a || seen == b,
                        "a partial file: {} bytes",
                        seen.len()
                    );
                    reads += 1;
                }
                reads
            })
        };
        for round in 0..40 {
            write_atomic(&file, if round % 2 == 0 { &b } else { &a }).expect("write");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().expect("the reader saw whole files only") > 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = scratch("symlink");
        std::os::unix::fs::symlink("/etc/hostname", dir.join("lib.rs")).expect("symlink");
        assert!(matches!(list(&dir), Err(GraderError::Symlink(_))));
        let _ = std::fs::remove_dir_all(dir);
    }
}
