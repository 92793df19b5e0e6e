//! Judging a parsed chat template: does any expression reach Python
//! internals, and does the template load other templates
//! (docs/findings.md, "Chat templates").
//!
//! Jinja2 resolves `x.name` and `x['name']` with Python's `getattr` (a
//! subscript falls back to it), so a template that names an attribute
//! starting with `_` (`__class__`, `__globals__`,
//! `_TemplateReference__context`) or one of the few public attributes that
//! lead to code objects and frames (`mro`, `func_globals`, `gi_frame`, …: the
//! names Jinja2's own sandbox refuses) walks from any object to `os`. The
//! judge finds every place a name is given to such a lookup (`.name`,
//! `[name]`, `|attr(name)`, the `attribute` argument of `map`, `selectattr`,
//! `rejectattr`, `sort`, `groupby`, `sum`, `unique`, `min`, `max`,
//! `map('attr', name)`, and `str.format` fields like `{0.__class__}`) and
//! folds the name when it is built (fold.rs). A name it cannot know before
//! rendering is judged too: `|attr(x)` with a computed or request-chosen
//! name is a lookup of any attribute.

use std::collections::BTreeSet;

use minijinja::machinery::ast::{CallArg, Expr, Stmt};

use super::fold::{Env, Folded, fold};

/// Deepest nesting of statements and expressions walked; a deeper tree is
/// not judged (`template.limit_exceeded`). The parser's own cap on nesting
/// is 150 statements and parentheses; postfix chains (`a.b.c…`) and
/// operator chains (`a ~ b ~ …`) are bounded by the tokens of one tag.
pub(crate) const MAX_WALK_DEPTH: usize = 1024;

/// Public attributes that lead to code objects, frames or the class
/// hierarchy: the names Jinja2's `SandboxedEnvironment` refuses besides
/// those starting with `_` (jinja2/sandbox.py, `UNSAFE_*_ATTRIBUTES` and
/// `is_internal_attribute`).
const UNSAFE_ATTRIBUTES: &[&str] = &[
    "mro",
    "func_closure",
    "func_code",
    "func_dict",
    "func_defaults",
    "func_globals",
    "im_class",
    "im_func",
    "im_self",
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "cr_frame",
    "cr_code",
    "cr_await",
    "ag_code",
    "ag_frame",
    "tb_frame",
    "tb_next",
    "f_back",
    "f_builtins",
    "f_code",
    "f_globals",
    "f_locals",
    "co_code",
];

/// The Python objects a renderer hands every template (Jinja2's default
/// globals and what chat-template runtimes add): none has items, so a
/// subscript on one is always Jinja2's `getattr` fallback.
const GLOBAL_OBJECTS: &[&str] = &[
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "range",
    "dict",
    "self",
    "loop",
    "caller",
    "varargs",
    "kwargs",
    "raise_exception",
    "strftime_now",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
];

/// Filters that take an attribute name (a dotted path) as their
/// `attribute` argument, and whether their first positional argument is
/// that name too.
const ATTRIBUTE_FILTERS: &[(&str, bool)] = &[
    ("map", false),
    ("selectattr", true),
    ("rejectattr", true),
    ("sort", false),
    ("groupby", true),
    ("sum", false),
    ("unique", false),
    ("min", false),
    ("max", false),
    ("dictsort", false),
];

/// Whether looking up `name` on a Python object can reach its internals.
pub(crate) fn is_unsafe_attribute(name: &str) -> bool {
    name.starts_with('_') || UNSAFE_ATTRIBUTES.contains(&name)
}

/// What the judge found.
#[derive(Debug, Default)]
pub(crate) struct Judgement {
    /// Each way the template reaches Python internals, described.
    pub reaches: BTreeSet<String>,
    /// Each statement that loads another template.
    pub loads: BTreeSet<String>,
    /// The tree was deeper than [`MAX_WALK_DEPTH`]: not judged whole.
    pub too_deep: bool,
}

/// Judge the parsed template `root`.
pub(crate) fn judge(root: &Stmt<'_>) -> Judgement {
    let mut env = Env::new();
    let mut derived = Derived::default();
    collect_assignments(root, &mut env, &mut derived, 0);
    let mut judge = Judge {
        env,
        derived,
        out: Judgement::default(),
    };
    judge.stmt(root, 0);
    judge.out
}

/// Variables that hold what a lookup by a render-time name returned
/// (`{% set g = lipsum[name] %}`), and the template's macros.
#[derive(Default)]
struct Derived<'a> {
    by_render_time_name: std::collections::HashSet<&'a str>,
    macros: std::collections::HashSet<&'a str>,
}

/// Record every `{% set name = … %}` (and `with` assignment): a variable
/// set once to a foldable value is known; set again, or bound by a loop,
/// a macro or a block, it is not. A variable set from a lookup by a
/// render-time name is remembered as such.
fn collect_assignments<'a>(
    stmt: &Stmt<'a>,
    env: &mut Env<'a>,
    derived: &mut Derived<'a>,
    depth: usize,
) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    match stmt {
        Stmt::Set(s) => bind(env, derived, &s.target, Some(&s.expr)),
        Stmt::SetBlock(s) => bind(env, derived, &s.target, None),
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                bind(env, derived, target, Some(value));
            }
        }
        Stmt::ForLoop(f) => bind(env, derived, &f.target, None),
        Stmt::Macro(m) => {
            env.insert(m.name, None);
            derived.macros.insert(m.name);
            for arg in &m.args {
                bind(env, derived, arg, None);
            }
        }
        Stmt::Import(i) => bind(env, derived, &i.name, None),
        Stmt::FromImport(i) => {
            for (name, alias) in &i.names {
                bind(env, derived, alias.as_ref().unwrap_or(name), None);
            }
        }
        _ => {}
    }
    for child in children(stmt) {
        collect_assignments(child, env, derived, depth + 1);
    }
}

/// Whether a subscript's key is a name known only at render time (not
/// folded, and not a computed string, which is judged on its own).
fn render_time_key(key: &Expr<'_>, env: &Env<'_>) -> bool {
    fold(key, env).is_none() && !builds_a_string(key)
}

/// Whether `expr` is what a subscript by a render-time name returned: it
/// ends in one (`a[x]`, `a[x]()`), or is a variable set to one. A constant
/// step in between (`a[x].b`) ends the walk: a name the template fixes is
/// judged on its own, and on an object the request picked it fails.
fn looked_up_by_render_time_name(
    expr: &Expr<'_>,
    env: &Env<'_>,
    derived: &Derived<'_>,
    depth: usize,
) -> bool {
    if depth > MAX_WALK_DEPTH {
        return false;
    }
    let next = depth + 1;
    match expr {
        Expr::Var(v) => derived.by_render_time_name.contains(v.id),
        Expr::GetItem(g) => render_time_key(&g.subscript_expr, env),
        Expr::Call(c) => looked_up_by_render_time_name(&c.expr, env, derived, next),
        _ => false,
    }
}

/// The variable a chain of lookups starts at.
fn root_var<'a>(expr: &Expr<'a>) -> Option<&'a str> {
    let mut at = expr;
    loop {
        at = match at {
            Expr::Var(v) => return Some(v.id),
            Expr::GetAttr(g) => &g.expr,
            Expr::GetItem(g) => &g.expr,
            Expr::Call(c) => &c.expr,
            _ => return None,
        };
    }
}

/// Bind the names of `target` to `value` (`None`: a value not known).
fn bind<'a>(
    env: &mut Env<'a>,
    derived: &mut Derived<'a>,
    target: &Expr<'a>,
    value: Option<&Expr<'a>>,
) {
    let mut names = Vec::new();
    target_names(target, &mut names);
    let single = names.len() == 1;
    let dynamic = value.is_some_and(|v| looked_up_by_render_time_name(v, env, derived, 0));
    for name in names {
        let folded = match value {
            Some(v) if single && !env.contains_key(name) => fold(v, env),
            _ => None,
        };
        env.insert(name, folded);
        if dynamic {
            derived.by_render_time_name.insert(name);
        }
    }
}

fn target_names<'a>(target: &Expr<'a>, out: &mut Vec<&'a str>) {
    match target {
        Expr::Var(v) => out.push(v.id),
        Expr::List(l) => {
            for item in &l.items {
                target_names(item, out);
            }
        }
        _ => {}
    }
}

/// The statements directly inside `stmt`.
fn children<'s, 'a>(stmt: &'s Stmt<'a>) -> Box<dyn Iterator<Item = &'s Stmt<'a>> + 's> {
    match stmt {
        Stmt::Template(t) => Box::new(t.children.iter()),
        Stmt::ForLoop(f) => Box::new(f.body.iter().chain(&f.else_body)),
        Stmt::IfCond(i) => Box::new(i.true_body.iter().chain(&i.false_body)),
        Stmt::WithBlock(w) => Box::new(w.body.iter()),
        Stmt::SetBlock(s) => Box::new(s.body.iter()),
        Stmt::AutoEscape(a) => Box::new(a.body.iter()),
        Stmt::FilterBlock(f) => Box::new(f.body.iter()),
        Stmt::Block(b) => Box::new(b.body.iter()),
        Stmt::Macro(m) => Box::new(m.body.iter()),
        Stmt::CallBlock(c) => Box::new(c.macro_decl.body.iter()),
        _ => Box::new(std::iter::empty()),
    }
}

struct Judge<'a> {
    env: Env<'a>,
    derived: Derived<'a>,
    out: Judgement,
}

impl<'a> Judge<'a> {
    fn deep(&mut self, depth: usize) -> bool {
        if depth > MAX_WALK_DEPTH {
            self.out.too_deep = true;
        }
        self.out.too_deep
    }

    fn reach(&mut self, what: String) {
        self.out.reaches.insert(what);
    }

    fn stmt(&mut self, stmt: &Stmt<'a>, depth: usize) {
        if self.deep(depth) {
            return;
        }
        match stmt {
            Stmt::EmitExpr(e) => self.expr(&e.expr, depth),
            Stmt::ForLoop(f) => {
                self.expr(&f.target, depth);
                self.expr(&f.iter, depth);
                if let Some(e) = &f.filter_expr {
                    self.expr(e, depth);
                }
            }
            Stmt::IfCond(i) => self.expr(&i.expr, depth),
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    self.expr(target, depth);
                    self.expr(value, depth);
                }
            }
            Stmt::Set(s) => {
                self.expr(&s.target, depth);
                self.expr(&s.expr, depth);
            }
            Stmt::SetBlock(s) => {
                self.expr(&s.target, depth);
                if let Some(f) = &s.filter {
                    self.expr(f, depth);
                }
            }
            Stmt::AutoEscape(a) => self.expr(&a.enabled, depth),
            Stmt::FilterBlock(f) => self.expr(&f.filter, depth),
            Stmt::Import(i) => {
                self.out.loads.insert("{% import %}".into());
                self.expr(&i.expr, depth);
            }
            Stmt::FromImport(i) => {
                self.out.loads.insert("{% from … import %}".into());
                self.expr(&i.expr, depth);
            }
            Stmt::Extends(e) => {
                self.out.loads.insert("{% extends %}".into());
                self.expr(&e.name, depth);
            }
            Stmt::Include(i) => {
                self.out.loads.insert("{% include %}".into());
                self.expr(&i.name, depth);
            }
            Stmt::Macro(m) => {
                for e in m.args.iter().chain(&m.defaults) {
                    self.expr(e, depth);
                }
            }
            Stmt::CallBlock(c) => {
                self.expr(&c.call.expr, depth);
                self.args(&c.call.args, depth);
                for e in c.macro_decl.args.iter().chain(&c.macro_decl.defaults) {
                    self.expr(e, depth);
                }
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr, depth);
                self.args(&d.call.args, depth);
            }
            Stmt::Template(_)
            | Stmt::EmitRaw(_)
            | Stmt::Block(_)
            | Stmt::Continue(_)
            | Stmt::Break(_) => {}
        }
        for child in children(stmt) {
            self.stmt(child, depth + 1);
        }
    }

    fn args(&mut self, args: &[CallArg<'a>], depth: usize) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e, depth + 1),
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'a>, depth: usize) {
        if self.deep(depth) {
            return;
        }
        let next = depth + 1;
        match expr {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr, next);
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(e, next);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr, next),
            Expr::BinOp(b) => {
                self.expr(&b.left, next);
                self.expr(&b.right, next);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr, next);
                for op in &c.ops {
                    self.expr(&op.expr, next);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, next);
                self.expr(&i.true_expr, next);
                if let Some(e) = &i.false_expr {
                    self.expr(e, next);
                }
            }
            Expr::Filter(f) => {
                self.filter(f.name, &f.args);
                if let Some(e) = &f.expr {
                    self.expr(e, next);
                }
                self.args(&f.args, depth);
            }
            Expr::Test(t) => {
                self.expr(&t.expr, next);
                self.args(&t.args, depth);
            }
            Expr::GetAttr(g) => {
                if is_unsafe_attribute(g.name) {
                    let on = root_name(&g.expr);
                    self.reach(format!("attribute `{}`{on}", g.name));
                }
                self.expr(&g.expr, next);
            }
            Expr::GetItem(g) => {
                self.subscript(&g.expr, &g.subscript_expr);
                self.expr(&g.expr, next);
                self.expr(&g.subscript_expr, next);
            }
            Expr::Call(c) => {
                if let Expr::GetAttr(method) = &c.expr
                    && matches!(method.name, "format" | "format_map")
                {
                    self.format_fields(&method.expr);
                }
                self.expr(&c.expr, next);
                self.args(&c.args, depth);
            }
            Expr::List(l) => {
                for e in &l.items {
                    self.expr(e, next);
                }
            }
            Expr::Map(m) => {
                for e in m.keys.iter().chain(&m.values) {
                    self.expr(e, next);
                }
            }
        }
    }

    /// `x[key]`: Jinja2 falls back to `getattr(x, key)` for a string key.
    fn subscript(&mut self, on: &Expr<'a>, key: &Expr<'a>) {
        match fold(key, &self.env) {
            Some(Folded::Str(name)) if is_unsafe_attribute(&name) => {
                let on = root_name(on);
                self.reach(format!("subscript `[{name:?}]`{on}"));
            }
            Some(_) => {}
            None if builds_a_string(key) => {
                let on = root_name(on);
                self.reach(format!(
                    "a subscript whose name is built at render time{on} (Jinja2 falls back to getattr)"
                ));
            }
            None => {
                // A name from the request: on data (a message, a tool
                // schema) it is an item lookup, as real templates do; on
                // a global object it can only be getattr, and a second
                // such lookup on the first's result walks the object graph
                // (`''[a][b][c]()` with `__class__`, `__base__`, …).
                let global = root_var(on).is_some_and(|v| {
                    GLOBAL_OBJECTS.contains(&v) || self.derived.macros.contains(v)
                });
                if global {
                    let on = root_name(on);
                    self.reach(format!(
                        "a subscript by a name chosen at render time{on} (Jinja2 falls back to getattr)"
                    ));
                } else if looked_up_by_render_time_name(on, &self.env, &self.derived, 0) {
                    let on = root_name(on);
                    self.reach(format!(
                        "subscripts by names chosen at render time, one on another's result{on}"
                    ));
                }
            }
        }
    }

    /// Filters that look attributes up by name.
    fn filter(&mut self, name: &str, args: &[CallArg<'a>]) {
        let positional: Vec<&Expr<'a>> = args
            .iter()
            .filter_map(|a| match a {
                CallArg::Pos(e) => Some(e),
                _ => None,
            })
            .collect();
        if name == "attr" {
            match positional.first() {
                Some(e) => self.attribute_name(e, "`|attr`", false),
                None => self.reach("`|attr` with no literal name".into()),
            }
            return;
        }
        if name == "map"
            && let Some(first) = positional.first()
            && fold(first, &self.env) == Some(Folded::Str("attr".into()))
        {
            match positional.get(1) {
                Some(e) => self.attribute_name(e, "`map('attr', …)`", false),
                None => self.reach("`map('attr')` with no literal name".into()),
            }
        }
        let Some((_, first_is_name)) = ATTRIBUTE_FILTERS.iter().find(|(f, _)| *f == name) else {
            return;
        };
        for a in args {
            if let CallArg::Kwarg("attribute", e) = a {
                self.attribute_name(e, &format!("`{name}(attribute=…)`"), true);
            }
            if matches!(a, CallArg::PosSplat(_) | CallArg::KwargSplat(_)) {
                self.reach(format!("`{name}` with arguments unpacked at render time"));
            }
        }
        if *first_is_name && let Some(first) = positional.first() {
            self.attribute_name(first, &format!("`{name}`"), true);
        }
    }

    /// An expression used as an attribute name by `how`; `dotted`: a path
    /// (`a.b.0`) whose every part is looked up.
    fn attribute_name(&mut self, name: &Expr<'a>, how: &str, dotted: bool) {
        match fold(name, &self.env) {
            Some(Folded::Str(s)) => {
                let unsafe_part = if dotted {
                    s.split('.').any(is_unsafe_attribute)
                } else {
                    is_unsafe_attribute(&s)
                };
                if unsafe_part {
                    self.reach(format!("{how} looks up {s:?}"));
                }
            }
            Some(Folded::Int(_)) => {}
            _ => self.reach(format!(
                "{how} with an attribute name chosen at render time"
            )),
        }
    }

    /// `'{0.__class__}'.format(x)`: `str.format` looks attributes and items
    /// up inside its fields. Every string literal of the receiver is read.
    fn format_fields(&mut self, receiver: &Expr<'a>) {
        let mut literals = Vec::new();
        string_literals(receiver, &mut literals, 0);
        if let Some(Folded::Str(s)) = fold(receiver, &self.env) {
            literals.push(s);
        }
        for text in literals {
            for field in format_field_names(&text) {
                // `0.a[b].c`: every part after the argument is looked up.
                if field
                    .split(['.', '[', ']'])
                    .skip(1)
                    .any(is_unsafe_attribute)
                {
                    self.reach(format!("`str.format` field `{{{field}}}`"));
                }
            }
        }
    }
}

/// ` on `name`` when `expr`'s chain starts at a variable.
fn root_name(expr: &Expr<'_>) -> String {
    let mut at = expr;
    loop {
        at = match at {
            Expr::Var(v) => return format!(" on `{}`", v.id),
            Expr::GetAttr(g) => &g.expr,
            Expr::GetItem(g) => &g.expr,
            Expr::Call(c) => &c.expr,
            Expr::Filter(f) => match &f.expr {
                Some(e) => e,
                None => return String::new(),
            },
            _ => return String::new(),
        };
    }
}

/// Whether `expr` computes a string (rather than looking a value up): a
/// key computed this way and not foldable is a name built at render time.
fn builds_a_string(expr: &Expr<'_>) -> bool {
    match expr {
        Expr::BinOp(b) => {
            use minijinja::machinery::ast::BinOpKind::{Add, Concat, Mul, Rem};
            matches!(b.op, Concat | Mul | Rem)
                || matches!(b.op, Add)
                    && (has_string_literal(&b.left) || has_string_literal(&b.right))
        }
        Expr::Filter(f) => !matches!(
            f.name,
            "int" | "float" | "length" | "count" | "abs" | "round"
        ),
        Expr::Call(_) | Expr::Slice(_) => true,
        Expr::IfExpr(i) => {
            builds_a_string(&i.true_expr) || i.false_expr.as_ref().is_some_and(builds_a_string)
        }
        _ => false,
    }
}

fn has_string_literal(expr: &Expr<'_>) -> bool {
    let mut found = Vec::new();
    string_literals(expr, &mut found, 0);
    !found.is_empty()
}

/// Every string literal inside `expr` (bounded by the walk depth).
fn string_literals(expr: &Expr<'_>, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    let mut walk = |e: &Expr<'_>| string_literals(e, out, depth + 1);
    match expr {
        Expr::Const(c) => {
            if let Some(s) = c.value.as_str() {
                out.push(s.to_owned());
            }
        }
        Expr::BinOp(b) => {
            walk(&b.left);
            walk(&b.right);
        }
        Expr::Filter(f) => {
            if let Some(e) = &f.expr {
                walk(e);
            }
            for a in &f.args {
                if let CallArg::Pos(e) | CallArg::Kwarg(_, e) = a {
                    walk(e);
                }
            }
        }
        Expr::Call(c) => {
            walk(&c.expr);
            for a in &c.args {
                if let CallArg::Pos(e) | CallArg::Kwarg(_, e) = a {
                    walk(e);
                }
            }
        }
        Expr::GetAttr(g) => walk(&g.expr),
        Expr::Slice(s) => walk(&s.expr),
        Expr::IfExpr(i) => {
            walk(&i.true_expr);
            if let Some(e) = &i.false_expr {
                walk(e);
            }
        }
        Expr::List(l) => l.items.iter().for_each(walk),
        _ => {}
    }
}

/// The field names of a `str.format` string (`{0.__class__}` →
/// `0.__class__`), conversion and format spec cut off.
fn format_field_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek() == Some(&'{') {
            chars.next();
            continue;
        }
        let mut field = String::new();
        for f in chars.by_ref() {
            if f == '}' || f == '!' || f == ':' {
                break;
            }
            field.push(f);
        }
        out.push(field);
    }
    out
}
