//! Which characters of untrusted text are hidden, and their visible escape
//! (docs/threat-model.md, G13).

/// Whether a character must not reach output as is: C0 and C1 controls
/// and DEL (CR, ESC, BEL, BS, CSI U+009B…), the line and paragraph
/// separators, and every [invisible](is_invisible) character, bidirectional
/// controls included ("Trojan Source", CVE-2021-42574); plus the
/// interlinear annotation marks and the non-characters U+FFFE/U+FFFF.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || is_invisible(c)
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FFF9}'..='\u{FFFB}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Characters that render as nothing or reorder what follows: Unicode's
/// Default_Ignorable_Code_Point set (DerivedCoreProperties.txt: soft
/// hyphen, zero-width and joiner characters, the bidirectional marks,
/// embeddings, overrides and isolates U+200E–U+200F, U+202A–U+202E,
/// U+2066–U+2069, U+061C, variation selectors, tag characters…) plus the
/// Hangul fillers, which render blank.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
        | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// The string with every `is_hidden` character written as `\u{XX}`:
/// what any untrusted text must go through before it reaches a terminal.
pub fn visible(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        push_visible(&mut out, c);
    }
    out
}

/// Append `c` to `out`, as `\u{XX}` when it is [hidden](is_hidden): the one
/// escape every text renderer uses (through [`visible`] or
/// [`super::TextOut`]).
pub(crate) fn push_visible(out: &mut String, c: char) {
    if is_hidden(c) {
        use std::fmt::Write as _;
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

/// At most `max` characters, with `…` marking a cut.
pub fn shorten(raw: &str, max: usize) -> String {
    match raw.char_indices().nth(max) {
        None => raw.to_owned(),
        Some((cut, _)) => {
            let mut out = raw.get(..cut).unwrap_or_default().to_owned();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_become_visible() {
        assert_eq!(
            visible("a\nb\x1b[31m\u{202E}c"),
            "a\\u{a}b\\u{1b}[31m\\u{202e}c"
        );
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
