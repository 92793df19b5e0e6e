//! Constant folding of the expressions that build names: what a Jinja
//! expression evaluates to when it depends on literals and on variables
//! set once to literals (docs/findings.md, "Chat templates").
//!
//! A payload hides `__class__` by building it: `'_'*2 ~ 'class' ~ '_'*2`,
//! `'%sclass%s'|format('__','__')`, `['__cla','ss__']|join`,
//! `'__ssalc__'|reverse`, `'x__class__x'[1:-1]`, `'{0}class{0}'.format('__')`.
//! Folding follows Python's semantics for the operations Jinja2 hands to
//! Python (string `+`, `*`, `%`, slicing, `str.format`) and Jinja2's own
//! filters. Whatever it cannot fold is `None`: the caller then judges the
//! expression as built at render time.

use std::collections::HashMap;

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, UnaryOpKind};

/// Longest string folding builds: longer ones (`'_'*10**9`) are not folded.
pub(crate) const MAX_FOLDED_BYTES: usize = 4096;
/// Most elements of a folded list.
const MAX_FOLDED_ITEMS: usize = 256;

/// A folded value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Folded {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A list (or tuple) of folded values.
    List(Vec<Folded>),
}

impl Folded {
    /// Jinja's `string` / `~` conversion.
    fn to_text(&self) -> Option<String> {
        match self {
            Folded::Str(s) => Some(s.clone()),
            Folded::Int(i) => Some(i.to_string()),
            Folded::List(_) => None,
        }
    }
}

/// Variables whose value is known: set exactly once, to a foldable value.
pub(crate) type Env<'a> = HashMap<&'a str, Option<Folded>>;

fn small(s: String) -> Option<Folded> {
    (s.len() <= MAX_FOLDED_BYTES).then_some(Folded::Str(s))
}

fn small_list(items: Vec<Folded>) -> Option<Folded> {
    (items.len() <= MAX_FOLDED_ITEMS).then_some(Folded::List(items))
}

/// The value of `expr`, when it can be known before rendering.
pub(crate) fn fold(expr: &Expr<'_>, env: &Env<'_>) -> Option<Folded> {
    match expr {
        Expr::Const(c) => {
            if let Some(s) = c.value.as_str() {
                small(s.to_owned())
            } else {
                i64::try_from(c.value.clone()).ok().map(Folded::Int)
            }
        }
        Expr::Var(v) => env.get(v.id).cloned().flatten(),
        Expr::UnaryOp(u) => match (&u.op, fold(&u.expr, env)?) {
            (UnaryOpKind::Neg, Folded::Int(i)) => i.checked_neg().map(Folded::Int),
            _ => None,
        },
        Expr::List(l) => {
            let items: Option<Vec<Folded>> = l.items.iter().map(|e| fold(e, env)).collect();
            small_list(items?)
        }
        Expr::BinOp(b) => {
            let left = fold(&b.left, env)?;
            let right = fold(&b.right, env)?;
            binop(b.op, left, right)
        }
        Expr::Slice(s) => {
            let value = fold(&s.expr, env)?;
            let bound = |e: &Option<Expr<'_>>| match e {
                None => Some(None),
                Some(e) => match fold(e, env)? {
                    Folded::Int(i) => Some(Some(i)),
                    _ => None,
                },
            };
            slice(value, bound(&s.start)?, bound(&s.stop)?, bound(&s.step)?)
        }
        Expr::GetItem(g) => {
            let value = fold(&g.expr, env)?;
            let Folded::Int(i) = fold(&g.subscript_expr, env)? else {
                return None;
            };
            let items = elements(value);
            let at = python_index(i, items.len())?;
            items.into_iter().nth(at)
        }
        Expr::Filter(f) => {
            let input = fold(f.expr.as_ref()?, env)?;
            let args = positional(&f.args, env)?;
            filter(f.name, input, &args)
        }
        Expr::Call(c) => {
            let Expr::GetAttr(method) = &c.expr else {
                return None;
            };
            let receiver = fold(&method.expr, env)?;
            let args = positional(&c.args, env)?;
            string_method(method.name, receiver, &args)
        }
        Expr::IfExpr(i) => {
            // Both branches the same value: the test does not matter.
            let yes = fold(&i.true_expr, env)?;
            let no = fold(i.false_expr.as_ref()?, env)?;
            (yes == no).then_some(yes)
        }
        _ => None,
    }
}

/// The positional arguments, folded; `None` when any argument is not
/// positional or not foldable.
fn positional(args: &[CallArg<'_>], env: &Env<'_>) -> Option<Vec<Folded>> {
    args.iter()
        .map(|a| match a {
            CallArg::Pos(e) => fold(e, env),
            _ => None,
        })
        .collect()
}

fn binop(op: BinOpKind, left: Folded, right: Folded) -> Option<Folded> {
    use Folded::{Int, List, Str};
    match (op, left, right) {
        (BinOpKind::Concat, l, r) => small(l.to_text()? + &r.to_text()?),
        (BinOpKind::Add, Str(l), Str(r)) => small(l + &r),
        (BinOpKind::Add, Int(l), Int(r)) => l.checked_add(r).map(Int),
        (BinOpKind::Add, List(mut l), List(r)) => {
            l.extend(r);
            small_list(l)
        }
        (BinOpKind::Sub, Int(l), Int(r)) => l.checked_sub(r).map(Int),
        (BinOpKind::Mul, Str(s), Int(n)) | (BinOpKind::Mul, Int(n), Str(s)) => {
            let n = usize::try_from(n.max(0)).ok()?;
            if s.len().checked_mul(n)? > MAX_FOLDED_BYTES {
                return None;
            }
            Some(Str(s.repeat(n)))
        }
        (BinOpKind::Mul, Int(l), Int(r)) => l.checked_mul(r).map(Int),
        (BinOpKind::Rem, Str(format), args) => percent_format(&format, &elements_or_one(args)),
        (BinOpKind::Rem, Int(l), Int(r)) => l.checked_rem_euclid(r).map(Int),
        _ => None,
    }
}

fn elements(value: Folded) -> Vec<Folded> {
    match value {
        Folded::Str(s) => s.chars().map(|c| Folded::Str(c.to_string())).collect(),
        Folded::List(items) => items,
        Folded::Int(_) => Vec::new(),
    }
}

fn elements_or_one(value: Folded) -> Vec<Folded> {
    match value {
        Folded::List(items) => items,
        other => vec![other],
    }
}

/// Python's index `i` into a sequence of `len` items.
fn python_index(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let at = if i < 0 { i.checked_add(len)? } else { i };
    (0..len).contains(&at).then(|| usize::try_from(at).ok())?
}

/// Python's `seq[start:stop:step]`.
fn slice(
    value: Folded,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Option<Folded> {
    let is_str = matches!(value, Folded::Str(_));
    let items = elements(value);
    let len = i64::try_from(items.len()).ok()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let clamp = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v.saturating_add(len) } else { v };
        v.clamp(lo, hi)
    };
    let mut picked = Vec::new();
    if step > 0 {
        let mut i = start.map_or(0, |s| clamp(s, 0, len));
        let end = stop.map_or(len, |s| clamp(s, 0, len));
        while i < end {
            picked.push(items.get(usize::try_from(i).ok()?)?.clone());
            i = i.checked_add(step)?;
        }
    } else {
        let mut i = start.map_or(len - 1, |s| clamp(s, -1, len - 1));
        let end = stop.map_or(-1, |s| clamp(s, -1, len - 1));
        while i > end {
            picked.push(items.get(usize::try_from(i).ok()?)?.clone());
            i = i.checked_add(step)?;
        }
    }
    if is_str {
        small(picked.iter().filter_map(Folded::to_text).collect())
    } else {
        small_list(picked)
    }
}

/// Jinja2's filters that turn strings into strings (and `join`, `list`).
fn filter(name: &str, input: Folded, args: &[Folded]) -> Option<Folded> {
    let text = |f: &Folded| f.to_text();
    match (name, args) {
        ("join", []) | ("join", [_]) => {
            let sep = match args.first() {
                Some(s) => text(s)?,
                None => String::new(),
            };
            let parts: Option<Vec<String>> = elements(input).iter().map(text).collect();
            small(parts?.join(&sep))
        }
        ("reverse", []) => match input {
            Folded::Str(s) => small(s.chars().rev().collect()),
            Folded::List(mut l) => {
                l.reverse();
                small_list(l)
            }
            Folded::Int(_) => None,
        },
        ("replace", [old, new]) => small(text(&input)?.replace(&text(old)?, &text(new)?)),
        ("format", _) => percent_format(&text(&input)?, args),
        ("lower", []) => small(text(&input)?.to_lowercase()),
        ("upper", []) => small(text(&input)?.to_uppercase()),
        ("string", []) => small(text(&input)?),
        ("trim", []) => small(text(&input)?.trim().to_owned()),
        ("list", []) => small_list(elements(input)),
        ("first", []) => elements(input).into_iter().next(),
        ("last", []) => elements(input).into_iter().last(),
        _ => None,
    }
}

/// The `str` methods that build strings.
fn string_method(name: &str, receiver: Folded, args: &[Folded]) -> Option<Folded> {
    match (name, &receiver, args) {
        ("format", Folded::Str(s), _) => brace_format(s, args),
        ("join", Folded::Str(sep), [list]) => {
            let parts: Option<Vec<String>> =
                elements(list.clone()).iter().map(Folded::to_text).collect();
            small(parts?.join(sep))
        }
        ("replace", Folded::Str(s), [old, new]) => {
            small(s.replace(&old.to_text()?, &new.to_text()?))
        }
        ("lower", Folded::Str(s), []) => small(s.to_lowercase()),
        ("upper", Folded::Str(s), []) => small(s.to_uppercase()),
        ("strip", Folded::Str(s), []) => small(s.trim().to_owned()),
        _ => None,
    }
}

/// Python's `format % args` for `%s`, `%r` (strings only), `%d`, `%c` and `%%`.
fn percent_format(format: &str, args: &[Folded]) -> Option<Folded> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' => out.push_str(&next.next()?.to_text()?),
            'd' | 'i' => match next.next()? {
                Folded::Int(i) => out.push_str(&i.to_string()),
                _ => return None,
            },
            'c' => match next.next()? {
                Folded::Int(i) => out.push(char::from_u32(u32::try_from(*i).ok()?)?),
                Folded::Str(s) if s.chars().count() == 1 => out.push_str(s),
                _ => return None,
            },
            _ => return None,
        }
        if out.len() > MAX_FOLDED_BYTES {
            return None;
        }
    }
    small(out)
}

/// Python's `str.format` for `{}`, `{0}` and `{{`/`}}`; a field with an
/// attribute or index (`{0.x}`) is not folded (the judge reads it).
fn brace_format(format: &str, args: &[Folded]) -> Option<Folded> {
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for f in chars.by_ref() {
                    if f == '}' {
                        break;
                    }
                    field.push(f);
                }
                let at = if field.is_empty() {
                    auto += 1;
                    auto - 1
                } else {
                    field.parse::<usize>().ok()?
                };
                out.push_str(&args.get(at)?.to_text()?);
            }
            _ => out.push(c),
        }
        if out.len() > MAX_FOLDED_BYTES {
            return None;
        }
    }
    small(out)
}
