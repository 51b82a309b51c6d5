//! rinit's entry point: everything happens in `rinit::dispatch`; this only
//! collects argv and turns the result into the process exit code.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = rinit::dispatch::main(&args);
    std::process::exit(code);
}
