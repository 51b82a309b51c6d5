//! Checks that need the whole merged configuration: duplicate names (across
//! included files), `depends_on` and `[rinit.signals]` references, dependency
//! cycles, and users/groups against the passwd/group databases. Collects
//! every problem; never stops at the first.

use super::diag::{Diagnostic, Source, suggest};
use super::model::{HookSpec, ProgramSpec};
use super::order;
use super::raw::Sp;
use super::sections::Located;
use crate::os::users::UserDb;

/// A program or hook and the index (into `sources`) of the file it came from.
pub type FromFile<T> = (usize, Located<T>);

pub struct Merged<'a> {
    pub sources: &'a [Source],
    pub programs: &'a [FromFile<ProgramSpec>],
    pub hooks: &'a [FromFile<HookSpec>],
    /// Program names used in `[rinit.signals]` (main file, index 0).
    pub signal_targets: &'a [Sp<String>],
}

impl Merged<'_> {
    fn diag(&self, file: usize, span: &std::ops::Range<usize>, msg: String) -> Diagnostic {
        match self.sources.get(file) {
            Some(src) => src.diag(span, msg),
            None => Diagnostic::file(std::path::Path::new("?"), msg),
        }
    }

    fn position(&self, file: usize, span: &std::ops::Range<usize>) -> String {
        let d = self.diag(file, span, String::new());
        format!("{}:{}:{}", d.path.display(), d.line, d.col)
    }
}

pub fn check(m: &Merged, users: &UserDb) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let program_names: Vec<(usize, &str, &std::ops::Range<usize>)> = m
        .programs
        .iter()
        .map(|(f, p)| (*f, p.spec.name.as_str(), &p.name_span))
        .collect();
    let hook_names: Vec<(usize, &str, &std::ops::Range<usize>)> = m
        .hooks
        .iter()
        .map(|(f, h)| (*f, h.spec.name.as_str(), &h.name_span))
        .collect();
    duplicates(m, "program", &program_names, &mut out);
    duplicates(m, "hook", &hook_names, &mut out);

    let names: Vec<&str> = program_names.iter().map(|(_, n, _)| *n).collect();
    let unknown = |what: &str, name: &str| {
        let hint = suggest(name, &names)
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        format!("{what} names unknown program \"{name}\"{hint}")
    };
    for (file, p) in m.programs {
        for d in &p.depends_on {
            if !names.contains(&d.value.as_str()) {
                out.push(m.diag(*file, &d.span, unknown("depends_on", &d.value)));
            }
        }
    }
    for t in m.signal_targets {
        if !names.contains(&t.value.as_str()) {
            out.push(m.diag(0, &t.span, unknown("signal route", &t.value)));
        }
    }
    cycles(m, &mut out);

    for (file, p) in m.programs {
        check_ids(m, *file, &p.user, &p.group, users, &mut out);
    }
    for (file, h) in m.hooks {
        check_ids(m, *file, &h.user, &h.group, users, &mut out);
    }
    out
}

/// The second definition is the error; its message points back at the first.
fn duplicates(
    m: &Merged,
    what: &str,
    names: &[(usize, &str, &std::ops::Range<usize>)],
    out: &mut Vec<Diagnostic>,
) {
    for (i, (file, name, span)) in names.iter().enumerate() {
        if let Some((ff, _, fs)) = names[..i].iter().find(|(_, n, _)| n == name) {
            let msg = format!(
                "{what} \"{name}\" is defined twice (first at {})",
                m.position(*ff, fs)
            );
            out.push(m.diag(*file, span, msg));
        }
    }
}

fn cycles(m: &Merged, out: &mut Vec<Diagnostic>) {
    let specs: Vec<ProgramSpec> = m.programs.iter().map(|(_, p)| p.spec.clone()).collect();
    let graph = order::dependency_graph(&specs);
    for cycle in order::cycles(&graph) {
        let path: Vec<&str> = cycle.iter().map(|&i| specs[i].name.as_str()).collect();
        // Point at the first edge of the cycle as written in depends_on.
        let (Some(&from), Some(&to)) = (cycle.first(), cycle.get(1)) else {
            continue;
        };
        let (file, located) = &m.programs[from];
        let span = located
            .depends_on
            .iter()
            .find(|d| d.value == specs[to].name)
            .map_or(located.name_span.clone(), |d| d.span.clone());
        out.push(m.diag(
            *file,
            &span,
            format!("dependency cycle: {}", path.join(" -> ")),
        ));
    }
}

fn check_ids(
    m: &Merged,
    file: usize,
    user: &Option<Sp<String>>,
    group: &Option<Sp<String>>,
    users: &UserDb,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(u) = user
        && users.user(&u.value).is_none()
    {
        let msg = format!("unknown user \"{}\" (not in /etc/passwd)", u.value);
        out.push(m.diag(file, &u.span, msg));
    }
    if let Some(g) = group
        && users.gid(&g.value).is_none()
    {
        let msg = format!("unknown group \"{}\" (not in /etc/group)", g.value);
        out.push(m.diag(file, &g.span, msg));
    }
}
