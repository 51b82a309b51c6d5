//! What std's runtime start-up did for rinit before `main`.
//!
//! `src/main.rs` defines the C `main` itself (`#![no_main]`), so std's
//! `lang_start` is not linked. Its stack-overflow handler looks up the main
//! thread's stack with `pthread_getattr_np`, which drags glibc's `sscanf`
//! and the whole `strtod` family into a static binary (~110 kB). Those
//! handlers only turn a stack overflow into a message before the crash.
//! The rest of what std did at start-up, rinit does here.

/// Make sure fds 0, 1 and 2 are open (on /dev/null if they were not) so no
/// file rinit opens lands on them, and ignore SIGPIPE so a write to a
/// closed pipe or socket fails with EPIPE. Both as std's start-up did;
/// children still start with SIGPIPE at its default (std's `Command` sees
/// to that).
pub fn init() {
    open_standard_fds();
    // SAFETY: installing SIG_IGN runs no code of ours in a handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn open_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes the three pollfds of `fds`; open gets a
    // NUL-terminated path; abort is always safe. As std's start-up does,
    // rinit cannot run without its standard fds and aborts then.
    unsafe {
        while libc::poll(fds.as_mut_ptr(), 3, 0) == -1 {
            match *libc::__errno_location() {
                libc::EINTR => continue,
                libc::EINVAL | libc::EAGAIN | libc::ENOMEM => {
                    // poll itself is refused (RLIMIT_NOFILE, memory): ask
                    // each fd on its own.
                    for fd in 0..3 {
                        if libc::fcntl(fd, libc::F_GETFD) == -1
                            && *libc::__errno_location() == libc::EBADF
                            && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) == -1
                        {
                            libc::abort();
                        }
                    }
                    return;
                }
                _ => libc::abort(),
            }
        }
        for pfd in fds {
            if pfd.revents & libc::POLLNVAL != 0
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) == -1
            {
                libc::abort();
            }
        }
    }
}
