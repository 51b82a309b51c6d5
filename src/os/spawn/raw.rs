//! The syscalls a child makes between clone and exec, without libc.
//!
//! A child cloned with `CLONE_VM` and without `CLONE_VFORK` runs on rinit's
//! memory *while rinit's thread goes on*, with that thread's TLS: glibc's
//! wrappers would store their errno in the very slot rinit is about to
//! read after a failed call of its own. These return the kernel's answer
//! instead (`Err(errno)`) and touch no memory but their arguments.
//!
//! On architectures without an `asm!` entry here, the wrappers go through
//! `libc::syscall` and spawning keeps `CLONE_VFORK` (rinit's thread is then
//! suspended while the child runs, so the shared errno is harmless).

use std::ffi::c_long;

/// Whether the child may run beside rinit's thread (see the module doc).
pub const CONCURRENT: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// A raw syscall: `Ok(return value)` or `Err(errno)`.
///
/// # Safety
/// The arguments must be what syscall `n` expects (valid pointers, sizes).
#[inline(always)]
pub unsafe fn syscall(n: c_long, a: [usize; 6]) -> Result<usize, i32> {
    // SAFETY: the caller vouches for the arguments; the asm follows the
    // kernel's calling convention and clobbers what it says.
    let ret = unsafe { arch_syscall(n, a) };
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn arch_syscall(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: x86_64 Linux syscall ABI; rcx and r11 are clobbered.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn arch_syscall(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: aarch64 Linux syscall ABI (number in x8, result in x0).
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") n as usize,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
unsafe fn arch_syscall(n: c_long, a: [usize; 6]) -> isize {
    // SAFETY: as the caller's; glibc's errno is only read right after.
    unsafe {
        let r = libc::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
        if r < 0 {
            -(*libc::__errno_location()) as isize
        } else {
            r as isize
        }
    }
}

/// `exit_group(code)`: leaves without running anything of rinit's.
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes a plain int and does not return.
        let _ = unsafe { syscall(libc::SYS_exit_group, [code as usize, 0, 0, 0, 0, 0]) };
    }
}
