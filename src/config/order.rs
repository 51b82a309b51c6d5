//! The dependency graph between programs: cycle detection for validation and
//! the start order for `rinit check`. Pure graph functions over indices
//! (`deps[i]` = the programs `i` depends on); no names, no I/O.

use super::model::ProgramSpec;

/// Every dependency cycle, each as the path `a, b, …, a` (first node
/// repeated at the end). Each back edge found by the depth-first search gives
/// one cycle, so a cycle is reported once.
pub fn cycles(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; deps.len()];
    let mut found = Vec::new();
    for root in 0..deps.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, index of the next edge to follow).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnStack;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match mark.get(dep).copied() {
                    Some(Mark::New) => {
                        mark[dep] = Mark::OnStack;
                        stack.push((dep, 0));
                    }
                    Some(Mark::OnStack) => {
                        let from = stack.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(dep);
                        found.push(cycle);
                    }
                    _ => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    found
}

/// A topological order (dependencies first); among programs that are ready
/// at the same time, file order wins, so the result is stable. Nodes caught
/// in a cycle (impossible after validation) are appended in file order.
pub fn topological(deps: &[Vec<usize>]) -> Vec<usize> {
    let n = deps.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !placed[i] && deps[i].iter().all(|&d| d >= n || placed[d]));
        match next {
            Some(i) => {
                placed[i] = true;
                order.push(i);
            }
            None => {
                order.extend((0..n).filter(|&i| !placed[i]));
                break;
            }
        }
    }
    order
}

/// Index graph of programs by `depends_on` (unknown names are ignored:
/// validation reports them).
pub fn dependency_graph(programs: &[ProgramSpec]) -> Vec<Vec<usize>> {
    programs
        .iter()
        .map(|p| {
            p.depends_on
                .iter()
                .filter_map(|d| programs.iter().position(|q| &q.name == d))
                .collect()
        })
        .collect()
}

/// Programs in the order they start: each after everything it depends on.
pub fn start_order(programs: &[ProgramSpec]) -> Vec<&ProgramSpec> {
    topological(&dependency_graph(programs))
        .into_iter()
        .map(|i| &programs[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topological_keeps_file_order_among_equals() {
        // 0 depends on 2; 1 free; 2 depends on 3; 3 free.
        let deps = vec![vec![2], vec![], vec![3], vec![]];
        assert_eq!(topological(&deps), [1, 3, 2, 0]);
        assert!(cycles(&deps).is_empty());
    }

    #[test]
    fn finds_cycles_as_paths() {
        let deps = vec![vec![1], vec![0], vec![2], vec![]];
        assert_eq!(cycles(&deps), [vec![0, 1, 0], vec![2, 2]]);
        // The order still contains everything.
        assert_eq!(topological(&deps).len(), 4);
    }

    #[test]
    fn longer_cycle_reported_once() {
        let deps = vec![vec![1], vec![2], vec![0, 3], vec![]];
        assert_eq!(cycles(&deps), [vec![0, 1, 2, 0]]);
    }
}
