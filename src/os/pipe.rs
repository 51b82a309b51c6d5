//! Pipe capacity.

use std::os::fd::BorrowedFd;

use nix::fcntl::{FcntlArg, fcntl};

/// Grow the pipe `fd` is (if it is one) to hold at least `size` bytes; never
/// shrink it. Returns its capacity afterwards, `None` when `fd` is not a
/// pipe. Past the system's limit for unprivileged users
/// (`/proc/sys/fs/pipe-max-size`, 1 MiB by default) or the per-user total,
/// the kernel says EPERM and the pipe keeps its size.
pub fn grow(fd: BorrowedFd<'_>, size: usize) -> Option<usize> {
    let now = fcntl(fd, FcntlArg::F_GETPIPE_SZ).ok()? as usize;
    if now >= size {
        return Some(now);
    }
    let size = i32::try_from(size).unwrap_or(i32::MAX);
    Some(fcntl(fd, FcntlArg::F_SETPIPE_SZ(size)).map_or(now, |n| n as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_pipe_grows_and_never_shrinks() {
        let (r, w) = nix::unistd::pipe().unwrap();
        assert!(grow(w.as_fd(), 256 * 1024).unwrap() >= 256 * 1024);
        // Both ends are the same pipe.
        assert!(grow(r.as_fd(), 4096).unwrap() >= 256 * 1024, "shrunk");
    }

    #[test]
    fn a_file_is_left_alone() {
        let f = std::fs::File::open("/proc/self/stat").unwrap();
        assert_eq!(grow(f.as_fd(), 1 << 20), None);
    }
}
