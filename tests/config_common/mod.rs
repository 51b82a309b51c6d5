//! Helpers for the config tests: a throw-away directory, a fixed environment
//! and a fixed passwd/group, so results never depend on the machine.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rinit::config::{Config, Diagnostic, load_with};
use rinit::os::users::UserDb;

pub struct Dir(PathBuf);

impl Dir {
    pub fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rinit-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn env(name: &str) -> Option<String> {
    match name {
        "APP_ENV" => Some("production".into()),
        "WORKERS" => Some("3".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

pub fn users() -> UserDb {
    UserDb::from_text(
        "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
        "root:x:0:\nwww-data:x:33:\n",
    )
}

pub fn load(p: &Path) -> Result<Config, Vec<Diagnostic>> {
    load_with(p, &env, &users())
}

/// The single error a config must produce, as `PATH:LINE:COL: message`.
pub fn one_error(p: &Path) -> String {
    let errs = load(p).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    errs[0].to_string()
}
