//! A program's `stdout = "/path"` / `stderr = "/path"`: a file rinit owns
//! and writes from a sink's writer thread (never from the event loop: a
//! slow disk or a hung NFS server must not stall PID 1).
//!
//! Because rinit, not the program, holds the file:
//! - [`FileTarget::reopen`] (SIGUSR1) opens the path again, so an external
//!   logrotate can rename the file and have new bytes land in a new one;
//! - with a [`LogRotation`], the file is rotated by size before a write
//!   would take it past `max_bytes`: `PATH.N-1 → PATH.N … PATH → PATH.1`
//!   (the oldest falls off), then a new `PATH`; `backups = 0` truncates.
//!
//! The writer hands over chunks cut at line ends where it can
//! (`sink::next_chunk`), so rotated files end with whole lines. Errors never
//! lose bytes that can still be written: a failed reopen or rename keeps
//! the current file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::sink::Target;
use crate::config::LogRotation;

pub struct FileTarget {
    path: PathBuf,
    file: File,
    /// Bytes in the current file: its size at open plus what we wrote.
    size: u64,
    rotation: Option<LogRotation>,
}

impl FileTarget {
    /// Open (create, append) `path`. Called in the loop at a program's
    /// first spawn, so a bad path fails that spawn with a clear message.
    pub fn open(path: &Path, rotation: Option<LogRotation>) -> io::Result<FileTarget> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(FileTarget {
            path: path.to_owned(),
            file,
            size,
            rotation,
        })
    }

    fn rotate(&mut self, r: LogRotation) -> Result<(), Errno> {
        if r.backups == 0 {
            // O_APPEND: the next write lands at the new end, offset 0.
            self.file.set_len(0).map_err(errno)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..r.backups).rev() {
            match std::fs::rename(backup(&self.path, n), backup(&self.path, n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(errno(e)),
                _ => {}
            }
        }
        std::fs::rename(&self.path, backup(&self.path, 1)).map_err(errno)?;
        self.reopen()
    }
}

impl Target for FileTarget {
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Errno> {
        let mut rotated = Ok(());
        if let Some(r) = self.rotation
            && self.size > 0
            && self.size + buf.len() as u64 > r.max_bytes
        {
            rotated = self.rotate(r);
        }
        self.file.write_all(buf).map_err(errno)?;
        self.size += buf.len() as u64;
        // Written either way; a failed rotation is still worth one report.
        rotated
    }

    fn reopen(&mut self) -> Result<(), Errno> {
        let file = open_append(&self.path).map_err(errno)?;
        self.size = file.metadata().map_err(errno)?.len();
        self.file = file;
        Ok(())
    }
}

/// `PATH.N`.
pub fn backup(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn open_append(path: &Path) -> io::Result<File> {
    // std opens with O_CLOEXEC: programs never inherit these files.
    OpenOptions::new().append(true).create(true).open(path)
}

fn errno(e: io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rinit-file-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn appends_to_what_is_there() {
        let d = dir("append");
        let p = d.join("a.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut t = FileTarget::open(&p, None).unwrap();
        t.write_all(b"new\n").unwrap();
        assert_eq!(read(&p), "old\nnew\n");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn reopen_follows_the_name() {
        let d = dir("reopen");
        let p = d.join("a.log");
        let mut t = FileTarget::open(&p, None).unwrap();
        t.write_all(b"one\n").unwrap();
        std::fs::rename(&p, d.join("a.log.old")).unwrap();
        t.write_all(b"two\n").unwrap(); // still the renamed file
        t.reopen().unwrap();
        t.write_all(b"three\n").unwrap();
        assert_eq!(read(&d.join("a.log.old")), "one\ntwo\n");
        assert_eq!(read(&p), "three\n");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn rotation_keeps_backups_and_whole_chunks() {
        let d = dir("rotate");
        let p = d.join("a.log");
        let rot = LogRotation {
            max_bytes: 10,
            backups: 2,
        };
        let mut t = FileTarget::open(&p, Some(rot)).unwrap();
        for line in ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n"] {
            t.write_all(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&p), "eeee\nffff\n");
        assert_eq!(read(&backup(&p, 1)), "cccc\ndddd\n");
        assert_eq!(read(&backup(&p, 2)), "aaaa\nbbbb\n");
        assert!(!backup(&p, 3).exists());
        // A chunk larger than the limit still goes in whole, alone.
        t.write_all(b"0123456789abcdef\n").unwrap();
        assert_eq!(read(&p), "0123456789abcdef\n");
        assert_eq!(read(&backup(&p, 2)), "cccc\ndddd\n");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn zero_backups_truncates() {
        let d = dir("truncate");
        let p = d.join("a.log");
        let rot = LogRotation {
            max_bytes: 8,
            backups: 0,
        };
        let mut t = FileTarget::open(&p, Some(rot)).unwrap();
        t.write_all(b"1234\n").unwrap();
        t.write_all(b"5678\n").unwrap();
        assert_eq!(read(&p), "5678\n");
        assert!(!backup(&p, 1).exists());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn failed_reopen_keeps_writing_the_old_file() {
        let d = dir("badreopen");
        let sub = d.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let p = sub.join("a.log");
        let mut t = FileTarget::open(&p, None).unwrap();
        std::fs::rename(&sub, d.join("moved")).unwrap();
        assert!(t.reopen().is_err());
        t.write_all(b"kept\n").unwrap();
        assert_eq!(read(&d.join("moved/a.log")), "kept\n");
        std::fs::remove_dir_all(d).unwrap();
    }
}
