//! User and group lookup from `/etc/passwd` and `/etc/group`, parsed by hand.
//!
//! rinit is linked statically, so it must never call NSS (`getpwnam` and
//! friends): static glibc would try to dlopen NSS modules that may not exist
//! in the image. The parsers are pure functions over the file text; the only
//! I/O is a [`UserDb::read`] database's first lookup, which treats a missing
//! file as empty (a `FROM scratch` image has none).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const PASSWD_PATH: &str = "/etc/passwd";
pub const GROUP_PATH: &str = "/etc/group";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// Primary group.
    pub gid: u32,
    pub home: PathBuf,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    /// User names listed as members (the fourth field).
    pub members: Vec<String>,
}

/// `name:password:uid:gid:gecos:home:shell` lines; comments, blank lines and
/// malformed lines (wrong field count, non-numeric ids, NIS `+`/`-` entries)
/// are skipped, as libc does.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() != 7 || !valid_name(f[0]) {
                return None;
            }
            Some(User {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: PathBuf::from(f[5]),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member` lines; malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() != 4 || !valid_name(f[0]) {
                return None;
            }
            Some(Group {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(['#', '+', '-']) && !name.contains(char::is_whitespace)
}

/// The user and group databases. Read from the files on first lookup, not
/// before: most configs name no user, and rinit's start-up should not pay
/// for two files it never needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDb {
    /// `(passwd, group)` still to read; `None` once given or read.
    files: Option<(PathBuf, PathBuf)>,
    parsed: OnceLock<Parsed>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Parsed {
    users: Vec<User>,
    groups: Vec<Group>,
}

impl UserDb {
    pub fn from_text(passwd: &str, group: &str) -> Self {
        UserDb {
            files: None,
            parsed: OnceLock::from(Parsed {
                users: parse_passwd(passwd),
                groups: parse_group(group),
            }),
        }
    }

    /// Reads both files (at the first lookup); a missing or unreadable file
    /// counts as empty, so a config naming a user then fails validation
    /// with a clear message.
    pub fn read(passwd: &Path, group: &Path) -> Self {
        UserDb {
            files: Some((passwd.to_path_buf(), group.to_path_buf())),
            parsed: OnceLock::new(),
        }
    }

    /// `/etc/passwd` and `/etc/group`.
    pub fn read_system() -> Self {
        UserDb::read(Path::new(PASSWD_PATH), Path::new(GROUP_PATH))
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            let text = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
            match &self.files {
                Some((passwd, group)) => Parsed {
                    users: parse_passwd(&text(passwd)),
                    groups: parse_group(&text(group)),
                },
                None => Parsed::default(),
            }
        })
    }

    pub fn users(&self) -> &[User] {
        &self.parsed().users
    }

    pub fn groups(&self) -> &[Group] {
        &self.parsed().groups
    }

    /// A user by name, or by numeric uid. A number with no passwd entry is
    /// still valid (as with `docker run --user 1000`): primary gid 0, home `/`.
    pub fn user(&self, spec: &str) -> Option<User> {
        if let Some(u) = self.users().iter().find(|u| u.name == spec) {
            return Some(u.clone());
        }
        let uid: u32 = spec.parse().ok()?;
        Some(
            self.users()
                .iter()
                .find(|u| u.uid == uid)
                .cloned()
                .unwrap_or(User {
                    name: spec.to_string(),
                    uid,
                    gid: 0,
                    home: PathBuf::from("/"),
                    shell: String::new(),
                }),
        )
    }

    /// A group id by name, or a numeric gid (valid even with no entry).
    pub fn gid(&self, spec: &str) -> Option<u32> {
        self.groups()
            .iter()
            .find(|g| g.name == spec)
            .map(|g| g.gid)
            .or_else(|| spec.parse().ok())
    }

    /// The groups to pass to `setgroups` for `user`: its primary gid first,
    /// then every group listing it as a member, without duplicates (what
    /// `initgroups` would compute, without NSS).
    pub fn supplementary_gids(&self, user: &str, primary: u32) -> Vec<u32> {
        let mut gids = vec![primary];
        for g in self.groups() {
            if g.members.iter().any(|m| m == user) && !gids.contains(&g.gid) {
                gids.push(g.gid);
            }
        }
        gids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment

www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
broken line without colons
short:x:1:2
badid:x:abc:1::/:/bin/sh
+nisuser::::::
app:x:1000:1000:App,,,:/home/app:/bin/sh
";

    const GROUP: &str = "\
root:x:0:
www-data:x:33:app
docker:x:998:app, www-data
garbage
nogid:x::app
video:x:44:
";

    #[test]
    fn parses_passwd_skipping_malformed_lines() {
        let users = parse_passwd(PASSWD);
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["root", "www-data", "app"]);
        assert_eq!(
            users[1],
            User {
                name: "www-data".into(),
                uid: 33,
                gid: 33,
                home: "/var/www".into(),
                shell: "/usr/sbin/nologin".into(),
            }
        );
    }

    #[test]
    fn parses_group_members() {
        let groups = parse_group(GROUP);
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["root", "www-data", "docker", "video"]);
        assert_eq!(groups[2].members, ["app", "www-data"]);
        assert!(groups[0].members.is_empty());
    }

    #[test]
    fn lookups_by_name_and_number() {
        let db = UserDb::from_text(PASSWD, GROUP);
        assert_eq!(db.user("www-data").map(|u| u.uid), Some(33));
        assert_eq!(db.user("33").map(|u| u.name), Some("www-data".into()));
        let anon = db.user("4242").unwrap();
        assert_eq!((anon.uid, anon.gid), (4242, 0));
        assert_eq!(db.user("nobody"), None);
        assert_eq!(db.gid("docker"), Some(998));
        assert_eq!(db.gid("5000"), Some(5000));
        assert_eq!(db.gid("nogroup"), None);
    }

    #[test]
    fn supplementary_groups_come_from_member_lists() {
        let db = UserDb::from_text(PASSWD, GROUP);
        assert_eq!(db.supplementary_gids("app", 1000), [1000, 33, 998]);
        assert_eq!(db.supplementary_gids("www-data", 33), [33, 998]);
        assert_eq!(db.supplementary_gids("root", 0), [0]);
    }

    #[test]
    fn files_are_read_at_the_first_lookup_only() {
        let dir = std::env::temp_dir().join(format!("rinit-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (passwd, group) = (dir.join("passwd"), dir.join("group"));
        let db = UserDb::read(&passwd, &group);
        std::fs::write(&passwd, PASSWD).unwrap();
        std::fs::write(&group, GROUP).unwrap();
        assert_eq!(db.user("app").map(|u| u.uid), Some(1000));
        std::fs::write(&passwd, "").unwrap();
        assert_eq!(db.user("app").map(|u| u.uid), Some(1000), "read once");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_files_are_empty() {
        let db = UserDb::read(
            Path::new("/nonexistent/passwd"),
            Path::new("/nonexistent/group"),
        );
        assert!(db.users().is_empty() && db.groups().is_empty());
        assert_eq!(db.user("root"), None);
    }
}
