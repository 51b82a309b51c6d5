//! rinit's entry point: everything happens in `rinit::dispatch`; this only
//! collects argv and turns the result into the process exit code.
//!
//! rinit defines the C `main` itself rather than linking std's runtime
//! start-up, which costs a static binary ~110 kB of glibc (see
//! `rinit::os::startup`, which does what rinit needs of it). The test
//! harness of this target keeps std's.

#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    rinit::os::startup::init();
    // std reads argv on its own at start-up (glibc passes it to
    // initialisers), with or without its `lang_start`.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = rinit::dispatch::main(&args);
    // Flushes stdout, as returning from std's `main` would.
    std::process::exit(code);
}
