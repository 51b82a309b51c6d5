//! The dependency graph between programs: start waves and stop order.
//!
//! Wave 0 holds the programs that depend on nothing; wave N those whose
//! dependencies all sit in earlier waves. Programs start wave by wave (in
//! fact: as soon as their own dependencies run) and stop in the reverse
//! order, dependents first. The config loader rejects cycles and unknown
//! names; this code still terminates on them: unknown names are dropped and
//! programs caught in a cycle go to a last wave with the cycle's edges cut,
//! so a bad graph degrades to "start together" instead of hanging PID 1.
//! Pure: indices in, indices out.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Program indices, wave by wave, in start order.
    pub waves: Vec<Vec<usize>>,
    /// For each program, the programs it waits for (after dropping unknown
    /// names, duplicates and edges of a cycle).
    pub deps: Vec<Vec<usize>>,
    /// Programs that could not be ordered (in or behind a cycle).
    pub cyclic: Vec<usize>,
}

impl Order {
    /// `programs[i]` is `(name, depends_on)`.
    pub fn new<S: AsRef<str>>(programs: &[(&str, &[S])]) -> Order {
        let index = |name: &str| programs.iter().position(|(n, _)| *n == name);
        let mut deps: Vec<Vec<usize>> = programs
            .iter()
            .map(|(_, on)| {
                let mut d: Vec<usize> = on.iter().filter_map(|n| index(n.as_ref())).collect();
                super::sort::sort_by_key(&mut d, |&i| i);
                d.dedup();
                d
            })
            .collect();

        let mut wave_of: Vec<Option<usize>> = vec![None; programs.len()];
        let mut waves: Vec<Vec<usize>> = Vec::new();
        let mut placed = 0;
        // Each round places at least one program or stops: at most n rounds.
        while placed < programs.len() {
            let w = waves.len();
            let ready: Vec<usize> = (0..programs.len())
                .filter(|&i| wave_of[i].is_none())
                .filter(|&i| deps[i].iter().all(|&d| wave_of[d].is_some_and(|dw| dw < w)))
                .collect();
            if ready.is_empty() {
                break;
            }
            for &i in &ready {
                wave_of[i] = Some(w);
            }
            placed += ready.len();
            waves.push(ready);
        }

        let cyclic: Vec<usize> = (0..programs.len())
            .filter(|&i| wave_of[i].is_none())
            .collect();
        if !cyclic.is_empty() {
            // Keep only the edges to programs that were ordered: the rest
            // would wait on each other for ever.
            for &i in &cyclic {
                deps[i].retain(|&d| wave_of[d].is_some());
            }
            waves.push(cyclic.clone());
        }
        Order {
            waves,
            deps,
            cyclic,
        }
    }

    /// Stop order: dependents before what they depend on.
    pub fn stop_waves(&self) -> impl Iterator<Item = &Vec<usize>> {
        self.waves.iter().rev()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(g: &[(&str, &[&str])]) -> Order {
        Order::new(g)
    }

    #[test]
    fn independent_programs_share_the_first_wave() {
        let o = order(&[("a", &[]), ("b", &[]), ("c", &[])]);
        assert_eq!(o.waves, vec![vec![0, 1, 2]]);
        assert!(o.cyclic.is_empty());
    }

    #[test]
    fn waves_follow_the_longest_dependency_chain() {
        // nginx -> php-fpm -> db-proxy; worker -> db-proxy
        let o = order(&[
            ("nginx", &["php-fpm"]),
            ("php-fpm", &["db-proxy"]),
            ("db-proxy", &[]),
            ("worker", &["db-proxy", "db-proxy"]),
        ]);
        assert_eq!(o.waves, vec![vec![2], vec![1, 3], vec![0]]);
        assert_eq!(o.deps[3], vec![2], "duplicates collapse");
        let stop: Vec<_> = o.stop_waves().cloned().collect();
        assert_eq!(stop, vec![vec![0], vec![1, 3], vec![2]]);
    }

    #[test]
    fn cycles_and_unknown_names_terminate() {
        let o = order(&[
            ("a", &["b"]),
            ("b", &["a"]),
            ("c", &["ghost"]),
            ("d", &["d"]),
            ("e", &["a", "c"]),
        ]);
        assert_eq!(o.waves, vec![vec![2], vec![0, 1, 3, 4]]);
        assert_eq!(o.cyclic, vec![0, 1, 3, 4]);
        assert!(o.deps[0].is_empty() && o.deps[1].is_empty() && o.deps[3].is_empty());
        assert_eq!(o.deps[4], vec![2], "edges to ordered programs stay");
        assert!(o.deps[2].is_empty());
    }

    #[test]
    fn empty_graph() {
        let o = order(&[]);
        assert!(o.waves.is_empty() && o.deps.is_empty());
    }
}
