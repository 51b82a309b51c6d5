//! rinit's own diagnostics on stderr, in s6's voice (`rinit: warning: …`),
//! filtered by tini's verbosity scale. Each message is one `write` so it is
//! never interleaved mid-line with a child's output. (A 20-line logger
//! instead of env_logger: we need this exact voice and no env parsing.)

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

/// tini's scale: 0 fatal only, 1 warnings (default), 2 info, 3 debug, 4 trace.
pub fn init(verbosity: u32) {
    let filter = match verbosity {
        0 => LevelFilter::Error,
        1 => LevelFilter::Warn,
        2 => LevelFilter::Info,
        3 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    // Only fails if a logger is already set (a second call, to change the
    // level): harmless, the level below is what changes.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(filter);
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        // Dependencies (mio) log at trace level too; only rinit speaks here.
        metadata.level() <= log::max_level() && metadata.target().starts_with("rinit")
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let line = format!("rinit: {level}: {}\n", record.args());
        // stderr may be gone; nothing sensible to do about it here.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}
