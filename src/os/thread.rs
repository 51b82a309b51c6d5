//! rinit's writer threads, started without `std::thread`.
//!
//! rinit's only threads are the detached, never joined log writers
//! (`logmux::sink`). `std::thread::Builder` brings its handles, spawn
//! hooks and stack-guard bookkeeping along (~18 kB of a static binary) for
//! that; a plain pthread with std's stack size and a name does the same job.

use std::ffi::c_void;
use std::io;

/// std's default stack size for a spawned thread.
const STACK_SIZE: usize = 2 * 1024 * 1024;

/// What the new thread runs, and its name as the kernel keeps it (at most
/// 15 bytes and a NUL, like std's thread names).
struct Start {
    name: [u8; 16],
    run: Box<dyn FnOnce() + Send>,
}

/// Start a detached thread called `name` (cut to 15 bytes) that runs `run`.
pub fn spawn_detached(name: &str, run: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let mut start = Box::new(Start {
        name: [0; 16],
        run: Box::new(run),
    });
    let n = name.len().min(15);
    start.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let arg = Box::into_raw(start).cast::<c_void>();

    // SAFETY: `attr` is initialised before use and destroyed after; the
    // thread gets sole ownership of `arg` (a leaked `Box<Start>`) when
    // pthread_create succeeds, and it is reclaimed here when it fails.
    let rc = unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        let rc = libc::pthread_attr_init(attr.as_mut_ptr());
        if rc != 0 {
            drop(Box::from_raw(arg.cast::<Start>()));
            return Err(io::Error::from_raw_os_error(rc));
        }
        // 2 MiB is a multiple of the page size and above PTHREAD_STACK_MIN:
        // this cannot fail, and glibc's default would do if it did.
        libc::pthread_attr_setstacksize(attr.as_mut_ptr(), STACK_SIZE);
        let mut thread: libc::pthread_t = 0;
        let rc = libc::pthread_create(&mut thread, attr.as_ptr(), thread_main, arg);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if rc == 0 {
            libc::pthread_detach(thread);
        } else {
            drop(Box::from_raw(arg.cast::<Start>()));
        }
        rc
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

extern "C" fn thread_main(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the `Box<Start>` that `spawn_detached` leaked for
    // this thread alone.
    let start = unsafe { Box::from_raw(arg.cast::<Start>()) };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes; `name` is 16 bytes and its last one is always 0.
    unsafe { libc::prctl(libc::PR_SET_NAME, start.name.as_ptr()) };
    (start.run)();
    std::ptr::null_mut()
}
