//! `stdout = PATH`: rinit writes the file (appending), reopens it on
//! SIGUSR1 (logrotate style) and rotates it by size with
//! `log_max_bytes` / `log_backups`; a path that cannot be opened fails the
//! spawn with a message naming it.

mod common;
mod logs_support;

use logs_support::*;
use std::path::Path;
use std::time::Instant;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn wait_file(p: &Path, pred: impl Fn(&str) -> bool) -> bool {
    common::wait_until(Instant::now() + common::WAIT, || pred(&read(p)))
}

fn config() -> String {
    let py = toml_str(common::python());
    let usr1 = "import os, signal\n\
                signal.signal(signal.SIGUSR1, lambda *a: os.write(1, b'after usr1\\n'))\n\
                os.write(1, b'before\\n')\n\
                while True: signal.pause()";
    let rot = "import os, signal\n\
               signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n\
               for i in range(400): os.write(1, b'%05d ' % i + b'x' * 93 + b'\\n')\n\
               os.write(1, b'done\\n')\n\
               while True: signal.pause()";
    format!(
        "[[program]]\nname = \"usr1\"\nstdout = \"{{dir}}/usr1.log\"\n\
         command = [{py}, \"-c\", {}]\n\
         [[program]]\nname = \"rot\"\nstdout = \"{{dir}}/rot.log\"\n\
         log_max_bytes = 4096\nlog_backups = 2\n\
         command = [{py}, \"-c\", {}]\n\
         [[program]]\nname = \"badpath\"\nstdout = \"{{dir}}/missing/x.log\"\n\
         start_retries = 0\ncommand = \"echo hi\"\n",
        toml_str(usr1),
        toml_str(rot)
    )
}

#[test]
fn files_are_appended_reopened_and_rotated() {
    let (mut run, out, err) = start_collected("files", &config(), &[]);
    let usr1 = run.path("usr1.log");
    assert!(wait_file(&usr1, |t| t == "before\n"), "{}", err.text());

    // logrotate: rename, SIGUSR1, new lines in a new file.
    std::fs::rename(&usr1, run.path("usr1.log.1")).unwrap();
    run.signal(libc::SIGUSR1);
    assert!(wait_file(&usr1, |t| t == "after usr1\n"), "{}", err.text());
    assert_eq!(read(&run.path("usr1.log.1")), "before\n");

    // Size rotation: at most 4096 bytes per file, two backups, whole lines,
    // and the newest lines contiguous across the files.
    let rot = run.path("rot.log");
    assert!(wait_file(&rot, |t| t.ends_with("done\n")), "{}", err.text());
    let files = [run.path("rot.log.2"), run.path("rot.log.1"), rot.clone()];
    let mut all = String::new();
    for f in &files {
        let t = read(f);
        assert!(
            !t.is_empty() && t.len() <= 4096,
            "{}: {} bytes",
            f.display(),
            t.len()
        );
        assert!(t.ends_with('\n'), "{} ends mid-line", f.display());
        all += &t;
    }
    assert!(
        !run.path("rot.log.3").exists(),
        "more than log_backups kept"
    );
    let seqs: Vec<u32> = all
        .lines()
        .filter(|l| *l != "done")
        .map(|l| l[..5].parse().unwrap())
        .collect();
    assert_eq!(*seqs.last().unwrap(), 399);
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "gap in rotated files");
    }
    assert!(seqs.len() >= 80, "only {} lines kept", seqs.len());

    // An unopenable path fails the spawn, saying which file.
    assert!(
        err.wait_for(common::WAIT, |b| has(
            b,
            "missing/x.log: No such file or directory"
        )),
        "{}",
        err.text()
    );

    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());
    // Nothing of theirs went to rinit's stdout.
    assert!(!has(&out.wait_eof(common::WAIT), "before"));
}

#[test]
fn existing_file_is_appended_to() {
    let pre = common::TempDir::new("append");
    let log = pre.join("a.log");
    std::fs::write(&log, "old\n").unwrap();
    let cfg = format!(
        "[rinit]\nexit_when = \"all-done\"\n[[program]]\nname = \"a\"\nrestart = \"never\"\n\
         start_secs = 0\nstdout = {}\ncommand = \"echo new\"\n",
        toml_str(&log.to_string_lossy())
    );
    let (mut run, _out, err) = start_collected("append", &cfg, &[]);
    assert_eq!(run.wait(common::WAIT).code(), Some(0), "{}", err.text());
    // Written before rinit exits (the exit flush covers file outputs).
    assert_eq!(read(&log), "old\nnew\n");
}
