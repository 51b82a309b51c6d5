//! Who is on the other end of a unix socket: SO_PEERCRED (unix(7)), the
//! credentials the kernel recorded at connect(2) — not forgeable by the
//! client, unlike anything it could send.

use std::io;
use std::os::fd::AsRawFd;

/// The uid of the process that connected `sock`.
pub fn peer_uid(sock: &impl AsRawFd) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a valid, writable ucred and `len` holds its size,
    // as getsockopt(SO_PEERCRED) requires; the fd is open for the call.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// rinit's own (real) uid.
pub fn own_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// Set the process umask, returning the previous one (to restore it).
pub fn set_umask(mask: u32) -> u32 {
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask as _));
    old.bits() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socketpair_peer_is_ourselves() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), own_uid());
    }
}
