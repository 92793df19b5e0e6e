//! A small line diff in unified format (hunks with three lines of context,
//! as `diff -u` prints them), for chat templates.
//!
//! Common leading and trailing lines are matched first (an edited template
//! usually differs in a few lines); the middle is matched by a longest
//! common subsequence table when it has at most [`LCS_CELLS_MAX`] cells,
//! otherwise the whole middle is shown as removed then added. The result is
//! always a correct diff, only sometimes not the shortest.

/// Largest LCS table (old middle lines × new middle lines), 4 MiB of `u32`.
const LCS_CELLS_MAX: usize = 1 << 20;
/// Lines of context around each change.
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// One step of the edit script: the op, and the old and new line index
/// before it.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: Op,
    old: usize,
    new: usize,
}

/// Unified diff lines of `old` → `new` (hunk headers `@@ -a,b +c,d @@`
/// and lines prefixed `' '`, `-`, `+`), at most `max_lines` of them; the
/// flag says whether lines were left off. Identical texts give no lines.
pub(super) fn unified(old: &str, new: &str, max_lines: usize) -> (Vec<String>, bool) {
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    let steps = script(&a, &b);
    let mut out = Vec::new();
    let mut truncated = false;
    for (start, end) in hunks(&steps) {
        let Some(range) = steps.get(start..end) else {
            continue;
        };
        let mut lines = vec![header(range)];
        for s in range {
            let line = match s.op {
                Op::Equal => format!(" {}", a.get(s.old).unwrap_or(&"")),
                Op::Delete => format!("-{}", a.get(s.old).unwrap_or(&"")),
                Op::Insert => format!("+{}", b.get(s.new).unwrap_or(&"")),
            };
            lines.push(line);
        }
        for line in lines {
            if out.len() >= max_lines {
                truncated = true;
                break;
            }
            out.push(line);
        }
        if truncated {
            break;
        }
    }
    (out, truncated)
}

fn header(range: &[Step]) -> String {
    let count = |keep: Op| {
        range
            .iter()
            .filter(|s| s.op == Op::Equal || s.op == keep)
            .count()
    };
    let (old_len, new_len) = (count(Op::Delete), count(Op::Insert));
    let (old_at, new_at) = range.first().map_or((0, 0), |s| (s.old, s.new));
    // `diff -u`: 1-based first line, or the line before when the range is empty.
    let start = |at: usize, len: usize| if len == 0 { at } else { at.saturating_add(1) };
    format!(
        "@@ -{},{} +{},{} @@",
        start(old_at, old_len),
        old_len,
        start(new_at, new_len),
        new_len
    )
}

/// The edit script turning `a` into `b`.
fn script(a: &[&str], b: &[&str]) -> Vec<Step> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let a_rest = a.get(prefix..).unwrap_or_default();
    let b_rest = b.get(prefix..).unwrap_or_default();
    let suffix = a_rest
        .iter()
        .rev()
        .zip(b_rest.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let a_mid = a_rest
        .get(..a_rest.len().saturating_sub(suffix))
        .unwrap_or_default();
    let b_mid = b_rest
        .get(..b_rest.len().saturating_sub(suffix))
        .unwrap_or_default();

    let mut steps = Vec::with_capacity(a.len().saturating_add(b.len()));
    for i in 0..prefix {
        steps.push(Step {
            op: Op::Equal,
            old: i,
            new: i,
        });
    }
    let mid = middle(a_mid, b_mid);
    let (mut i, mut j) = (prefix, prefix);
    for op in mid {
        steps.push(Step { op, old: i, new: j });
        match op {
            Op::Equal => {
                i = i.saturating_add(1);
                j = j.saturating_add(1);
            }
            Op::Delete => i = i.saturating_add(1),
            Op::Insert => j = j.saturating_add(1),
        }
    }
    for _ in 0..suffix {
        steps.push(Step {
            op: Op::Equal,
            old: i,
            new: j,
        });
        i = i.saturating_add(1);
        j = j.saturating_add(1);
    }
    steps
}

/// Every old line removed, then every new line added.
fn replace_all(n: usize, m: usize) -> Vec<Op> {
    let mut ops = vec![Op::Delete; n];
    ops.extend(std::iter::repeat_n(Op::Insert, m));
    ops
}

/// The ops for the differing middle: an LCS walk when the table is small
/// enough, else everything removed then everything added.
fn middle(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    let cells = n.saturating_add(1).saturating_mul(m.saturating_add(1));
    if n == 0 || m == 0 || cells > LCS_CELLS_MAX {
        return replace_all(n, m);
    }
    // table[i * w + j] = LCS length of a[i..] and b[j..].
    let w = m.saturating_add(1);
    let mut table = vec![0u32; cells];
    let at = |t: &[u32], i: usize, j: usize| {
        t.get(i.saturating_mul(w).saturating_add(j))
            .copied()
            .unwrap_or(0)
    };
    // Row by row from the last: each row from the one below it, every
    // cell written (row n, all zeros, is the start).
    for i in (0..n).rev() {
        let rows = table.split_at_mut_checked(i.saturating_add(1).saturating_mul(w));
        let Some((row, below)) = rows.and_then(|(upper, lower)| {
            Some((upper.chunks_exact_mut(w).next_back()?, lower.get(..w)?))
        }) else {
            // The table holds n + 1 rows of w: unreachable, and then no
            // LCS is better than a wrong one.
            return replace_all(n, m);
        };
        let mut right = 0u32;
        let below_pairs = below.iter().skip(1).zip(below.iter());
        for (j, (cell, (&diagonal, &down))) in row.iter_mut().zip(below_pairs).enumerate().rev() {
            let v = if a.get(i) == b.get(j) {
                diagonal.saturating_add(1)
            } else {
                down.max(right)
            };
            *cell = v;
            right = v;
        }
    }
    let mut ops = Vec::with_capacity(n.saturating_add(m));
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a.get(i) == b.get(j) {
            ops.push(Op::Equal);
            i += 1;
            j += 1;
        } else if at(&table, i.saturating_add(1), j) >= at(&table, i, j.saturating_add(1)) {
            ops.push(Op::Delete);
            i += 1;
        } else {
            ops.push(Op::Insert);
            j += 1;
        }
    }
    ops.extend(std::iter::repeat_n(Op::Delete, n.saturating_sub(i)));
    ops.extend(std::iter::repeat_n(Op::Insert, m.saturating_sub(j)));
    ops
}

/// Ranges of steps forming hunks: each change with [`CONTEXT`] equal steps
/// around it, changes closer than twice the context merged.
fn hunks(steps: &[Step]) -> Vec<(usize, usize)> {
    let changes: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.op != Op::Equal)
        .map(|(k, _)| k)
        .collect();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &k in &changes {
        let start = k.saturating_sub(CONTEXT);
        let end = k.saturating_add(CONTEXT).saturating_add(1).min(steps.len());
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", 200), (Vec::new(), false));
    }

    #[test]
    fn one_changed_line_has_context_and_a_diff_u_header() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9";
        let new = "1\n2\n3\n4\nFIVE\n6\n7\n8\n9";
        let (lines, cut) = unified(old, new, 200);
        assert!(!cut);
        assert_eq!(
            lines,
            vec![
                "@@ -2,7 +2,7 @@",
                " 2",
                " 3",
                " 4",
                "-5",
                "+FIVE",
                " 6",
                " 7",
                " 8"
            ]
        );
    }

    #[test]
    fn distant_changes_make_two_hunks_and_near_ones_merge() {
        let old: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let mut new = old.clone();
        new[2] = "x".into();
        new[25] = "y".into();
        let (lines, _) = unified(&old.join("\n"), &new.join("\n"), 200);
        assert_eq!(lines.iter().filter(|l| l.starts_with("@@")).count(), 2);
        new[25] = "25".into();
        new[8] = "z".into(); // 5 equal lines between changes: one hunk
        let (lines, _) = unified(&old.join("\n"), &new.join("\n"), 200);
        assert_eq!(lines.iter().filter(|l| l.starts_with("@@")).count(), 1);
    }

    #[test]
    fn insertion_into_the_middle_is_found_by_lcs() {
        let (lines, _) = unified("a\nb\nc\nd", "a\nb\nX\nc\nY\nd", 200);
        let plus: Vec<&String> = lines.iter().filter(|l| l.starts_with('+')).collect();
        assert_eq!(plus, vec!["+X", "+Y"]);
        assert!(!lines.iter().any(|l| l.starts_with('-')));
    }

    #[test]
    fn output_is_capped_and_says_so() {
        let old: String = (0..1000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..1000).map(|i| format!("b{i}\n")).collect();
        let (lines, cut) = unified(&old, &new, 200);
        assert_eq!(lines.len(), 200);
        assert!(cut);
    }

    #[test]
    fn a_middle_too_large_for_the_table_is_removed_then_added() {
        let old: String = (0..2000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..2000).map(|i| format!("b{i}\n")).collect();
        let (lines, _) = unified(&old, &new, 10_000);
        let first_plus = lines.iter().position(|l| l.starts_with('+'));
        let last_minus = lines.iter().rposition(|l| l.starts_with('-'));
        assert!(first_plus > last_minus);
        assert_eq!(lines.iter().filter(|l| l.starts_with('-')).count(), 2000);
    }
}
