//! Markdown as the README tests read it.

/// The shell code blocks of a Markdown text, with `\` continuations joined.
pub fn sh_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match (&mut current, line.trim()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(lines), l) => match lines.last_mut() {
                Some(prev) if prev.ends_with('\\') => {
                    prev.pop();
                    prev.push(' ');
                    prev.push_str(l);
                }
                _ => lines.push(l.to_owned()),
            },
            (None, _) => {}
        }
    }
    blocks
}
