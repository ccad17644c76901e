//! Text shown to people: control and bidi characters escaped, so no user-supplied
//! string can move the cursor or reorder what a terminal shows.
use std::borrow::Cow;

/// True for the characters never shown raw to a person: C0 controls (tab and newline
/// included), DEL, C1 controls, and the bidirectional marks, embeddings, overrides and
/// isolates (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that reorder what a terminal shows.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Text as people see it in tables and error messages: every [`is_unsafe_char`] is written
/// as Rust writes a Unicode escape, `\u{HEX}` with lowercase hex and no leading zeros (ESC
/// is `\u{1b}`, a newline `\u{a}`, NUL `\u{0}`, RIGHT-TO-LEFT OVERRIDE `\u{202e}`);
/// everything else, backslashes included, is unchanged. JSON and CSV output never go
/// through here: they keep the exact bytes.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

pub(crate) fn push_escaped(out: &mut String, c: char) {
    if is_unsafe_char(c) {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
    }
}
