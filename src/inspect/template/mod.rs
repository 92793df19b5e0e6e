//! Chat templates: Jinja text that inference servers render on every
//! request. A template that reaches Python internals is remote code
//! execution in every runtime that renders it without Jinja's sandbox
//! (CVE-2024-34359 in llama-cpp-python, CVE-2026-5760 in SGLang).
//!
//! Each template is parsed with a Jinja parser (minijinja's, on Jinja2's
//! grammar) and its syntax tree judged (judge.rs, fold.rs); the findings and
//! why each has its severity are in docs/findings.md, "Chat templates". The
//! parser's work is bounded before it starts: the template's tokens are
//! counted first, in total and per tag, against [`Limits`].

mod fold;
mod judge;

use judge::is_unsafe_attribute;

use std::collections::BTreeSet;

use minijinja::machinery::{Token, WhitespaceConfig, parse, tokenize};
use minijinja::syntax::SyntaxConfig;

use super::facts::Finding;
use crate::limits::Limits;
use crate::safe::visible;

/// Most ways of reaching internals listed in one finding's message.
const LISTED_REASONS: usize = 6;
/// Longest piece of template text quoted in a message.
const QUOTED_CHARS: usize = 80;

/// What the analysis of one template found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Each way the template reaches Python internals (empty: none).
    pub reaches: Vec<String>,
    /// Each statement that loads another template.
    pub loads: Vec<String>,
    /// Why the template was not parsed, when it was not.
    pub unparsed: Option<String>,
    /// Which cap stopped the analysis, when one did.
    pub limit: Option<String>,
    /// The template's length, when longer than `Limits::template_long_bytes`.
    pub very_long: Option<u64>,
}

/// Parse and judge `template`.
pub fn analyse(template: &str, limits: &Limits) -> Analysis {
    let mut analysis = Analysis {
        very_long: Some(template.len() as u64).filter(|n| *n > limits.template_long_bytes),
        ..Analysis::default()
    };
    let scan = match scan_tokens(template, limits) {
        Ok(scan) => scan,
        Err(Stop::Limit(why)) => {
            analysis.limit = Some(why);
            return analysis;
        }
        Err(Stop::Syntax(why)) => {
            analysis.unparsed = Some(why);
            return analysis;
        }
    };
    let source = with_generation_blocks(template, &scan.generation);
    let tree = match parse(
        &source,
        "<template>",
        SyntaxConfig,
        WhitespaceConfig::default(),
    ) {
        Ok(tree) => tree,
        Err(e) => {
            analysis.unparsed = Some(describe_error(&e));
            // Not parsed, yet tokenized: the names its tokens give are
            // still read, so the finding says what the template reaches.
            analysis.reaches = scan.named.into_iter().collect();
            return analysis;
        }
    };
    let judged = judge::judge(&tree);
    analysis.reaches = judged.reaches.into_iter().collect();
    analysis.loads = judged.loads.into_iter().collect();
    if judged.too_deep {
        analysis.limit = Some(format!(
            "its syntax tree is nested deeper than {} levels",
            judge::MAX_WALK_DEPTH
        ));
    }
    analysis
}

enum Stop {
    Limit(String),
    Syntax(String),
}

/// What the token pass found.
#[derive(Default)]
struct TokenScan {
    /// Byte ranges of the `generation` / `endgeneration` statement names
    /// (transformers' `{% generation %}` extension), with what stands for
    /// them when parsing.
    generation: Vec<(usize, usize, &'static str)>,
    /// Internals its tokens name: `.name` after a dot, or a string literal
    /// that is such a name (used when the template does not parse).
    named: BTreeSet<String>,
}

/// Count the template's tokens before parsing it: the syntax tree (and the
/// parser's and judge's work) grows with them, and its depth with the
/// tokens of one tag (a chain `a.b.c…` nests one level per token).
fn scan_tokens(template: &str, limits: &Limits) -> Result<TokenScan, Stop> {
    let mut scan = TokenScan::default();
    let mut total = 0u64;
    let mut in_tag = 0u64;
    let mut after_dot = false;
    let mut last: Option<Token<'_>> = None;
    // A statement tag's first token, while it may be `generation`.
    let mut pending: Option<(usize, usize, &'static str)> = None;
    for token in tokenize(template, false, SyntaxConfig, WhitespaceConfig::default()) {
        let (token, span) = token.map_err(|e| Stop::Syntax(describe_error(&e)))?;
        total += 1;
        let first_in_block = matches!(last, Some(Token::BlockStart));
        match &token {
            Token::VariableStart | Token::BlockStart => in_tag = 0,
            t if deepens(t) => in_tag += 1,
            _ => {}
        }
        match (&token, pending.take()) {
            (Token::BlockEnd, Some(name)) => scan.generation.push(name),
            (Token::Ident(id @ ("generation" | "endgeneration")), None) if first_in_block => {
                let stands_for = if *id == "generation" {
                    "if true"
                } else {
                    "endif"
                };
                pending = Some((
                    span.start_offset as usize,
                    span.end_offset as usize,
                    stands_for,
                ));
            }
            _ => {}
        }
        match &token {
            Token::Ident(name) if after_dot && is_unsafe_attribute(name) => {
                scan.named.insert(format!("attribute `{name}`"));
            }
            Token::Str(s) if names_internals(s) => {
                scan.named.insert(format!("string {s:?}"));
            }
            Token::String(s) if names_internals(s) => {
                scan.named.insert(format!("string {s:?}"));
            }
            _ => {}
        }
        after_dot = matches!(token, Token::Dot);
        last = Some(token);
        if total > limits.template_max_tokens {
            return Err(Stop::Limit(format!(
                "it has more than {} tokens",
                limits.template_max_tokens
            )));
        }
        if in_tag > limits.template_max_tag_operators {
            return Err(Stop::Limit(format!(
                "one of its tags has more than {} operators",
                limits.template_max_tag_operators
            )));
        }
    }
    Ok(scan)
}

/// Whether a token can nest the syntax tree one level deeper: an operator,
/// a postfix (`.`, `[`, `(`, `|`), an opening brace, or a keyword operator.
/// Literals, names, commas and colons make a tree wider, not deeper.
fn deepens(token: &Token<'_>) -> bool {
    match token {
        Token::Ident(word) => matches!(*word, "and" | "or" | "not" | "is" | "in" | "if" | "else"),
        Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::FloorDiv
        | Token::Pow
        | Token::Mod
        | Token::Dot
        | Token::Tilde
        | Token::Pipe
        | Token::Eq
        | Token::Ne
        | Token::Gt
        | Token::Gte
        | Token::Lt
        | Token::Lte
        | Token::BracketOpen
        | Token::ParenOpen
        | Token::BraceOpen => true,
        _ => false,
    }
}

/// A string literal that names internals, or holds a dunder.
fn names_internals(s: &str) -> bool {
    is_unsafe_attribute(s) && !s.is_empty() || s.contains("__")
}

/// `template` with each `{% generation %}` / `{% endgeneration %}` as
/// `{% if true %}` / `{% endif %}`: transformers renders chat templates with
/// that extension (it marks the assistant's part), minijinja has no such
/// statement, and an `if` holds its body as the extension does.
fn with_generation_blocks<'t>(
    template: &'t str,
    names: &[(usize, usize, &'static str)],
) -> std::borrow::Cow<'t, str> {
    if names.is_empty() {
        return std::borrow::Cow::Borrowed(template);
    }
    let mut out = String::with_capacity(template.len());
    let mut at = 0;
    for (start, end, stands_for) in names {
        out.push_str(template.get(at..*start).unwrap_or_default());
        out.push_str(stands_for);
        at = *end;
    }
    out.push_str(template.get(at..).unwrap_or_default());
    std::borrow::Cow::Owned(out)
}

fn describe_error(e: &minijinja::Error) -> String {
    let what = e.detail().unwrap_or("syntax error");
    match e.line() {
        Some(line) => format!("{} at line {line}", quote(what)),
        None => quote(what),
    }
}

/// `text` as shown in a message: escaped, cut to [`QUOTED_CHARS`].
fn quote(text: &str) -> String {
    let cut: String = text.chars().take(QUOTED_CHARS).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("{}{more}", visible(&cut))
}

impl Analysis {
    /// The findings for this analysis of the template found at `source`.
    pub fn findings(&self, source: &str) -> Vec<Finding> {
        let source = visible(source);
        let mut out = Vec::new();
        if !self.reaches.is_empty() {
            let mut listed: Vec<String> = self
                .reaches
                .iter()
                .take(LISTED_REASONS)
                .map(|r| quote(r))
                .collect();
            if self.reaches.len() > LISTED_REASONS {
                listed.push(format!("and {} more", self.reaches.len() - LISTED_REASONS));
            }
            out.push(Finding::error(
                "template.code_execution",
                format!(
                    "chat template in {source} reaches Python internals, which runs code in any renderer without Jinja's sandbox (as in CVE-2024-34359 and CVE-2026-5760): {}",
                    listed.join("; ")
                ),
            ));
        }
        if let Some(why) = &self.unparsed {
            out.push(Finding::error(
                "template.unparsed",
                format!(
                    "chat template in {source} is not valid Jinja ({why}): lbom cannot tell what a renderer would run from it"
                ),
            ));
        }
        if let Some(why) = &self.limit {
            out.push(Finding::error(
                "template.limit_exceeded",
                format!(
                    "chat template in {source} was not judged whole: {why} (docs/findings.md, \"Chat templates\")"
                ),
            ));
        }
        if !self.loads.is_empty() {
            out.push(Finding::warning(
                "template.loads_template",
                format!(
                    "chat template in {source} loads other templates ({}): what they hold is not in this file",
                    self.loads.join(", ")
                ),
            ));
        }
        if let Some(bytes) = self.very_long {
            out.push(Finding::warning(
                "template.very_long",
                format!(
                    "chat template in {source} is {bytes} bytes long, far longer than chat templates are: text a reader will not go through, where a payload can hide"
                ),
            ));
        }
        out
    }
}

/// The findings of the chat template `template` found at `source` (a
/// metadata key, or a file and its member).
pub fn template_findings(source: &str, template: &str, limits: &Limits) -> Vec<Finding> {
    analyse(template, limits).findings(source)
}

#[cfg(test)]
mod tests;
