//! Text a submission controls, made safe to print on a terminal or to save
//! in a text report.
//!
//! A check's failure message, its output and the compiler's errors come
//! from the learner's code. Printed as they are, an escape sequence in them
//! could clear the instructor's screen (`ESC [2J`), retitle the window
//! (`ESC ]0;…BEL`), move the cursor to overwrite the score with a lone
//! carriage return, or reorder what is shown with a Unicode bidirectional
//! override ("Trojan Source", CVE-2021-42574). [`terminal_safe`] removes
//! all of them and keeps the text: line feeds and tabs stay.

use std::borrow::Cow;

/// Whether `c` is a Unicode bidirectional embedding, override or isolate
/// (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` must not reach a terminal: a C0 control other than line feed
/// and tab (a lone carriage return included), DEL, a C1 control, or a
/// bidirectional control.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// `text` without escape sequences, other control characters (C0 except
/// `\n` and `\t`, DEL, C1) and bidirectional overrides.
///
/// Whole escape sequences go, not only their `ESC`: a CSI sequence
/// (`ESC [` or U+009B, parameters, then its final byte), a string sequence
/// (OSC `ESC ]`, DCS `ESC P`, SOS `ESC X`, PM `ESC ^`, APC `ESC _`, or
/// their C1 forms) up to its terminator (BEL or ST, `ESC \` or U+009C),
/// and any other escape with its intermediate and final byte. A sequence
/// left unterminated ends at the end of its line, so it cannot hide the
/// rest of the text. Borrowed when there is nothing to remove.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(_) => skip_escape(&mut chars),
                None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// The rest of a CSI sequence: parameter bytes (0x30–0x3F), intermediate
/// bytes (0x20–0x2F), then one final byte (0x40–0x7E). Anything else ends
/// the sequence without being consumed.
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{30}'..='\u{3f}' | '\u{20}'..='\u{2f}' => {
                chars.next();
            }
            '\u{40}'..='\u{7e}' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// The rest of a control string (OSC, DCS, SOS, PM, APC): everything up to
/// and including BEL or ST (`ESC \` or U+009C), or up to (not including)
/// the end of the line.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => return,
            '\u{7}' | '\u{9c}' => {
                chars.next();
                return;
            }
            '\u{1b}' => {
                chars.next();
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

/// The rest of another escape sequence (`ESC c`, `ESC ( B`, `ESC 7`):
/// intermediate bytes (0x20–0x2F), then one final byte (0x30–0x7E).
fn skip_escape(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{20}'..='\u{2f}' => {
                chars.next();
            }
            '\u{30}'..='\u{7e}' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_kept() {
        let text = "expected 1000, got 1005\n\tat client.rs:3 — «ok» ✔ 日本";
        assert!(matches!(terminal_safe(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn a_hostile_message_loses_its_escapes_and_keeps_its_words() {
        let text = "before\u{1b}[2J\u{1b}]0;pwned\u{7}after\rfake 100/100\nline 2\tend";
        assert_eq!(terminal_safe(text), "beforeafterfake 100/100\nline 2\tend");
    }

    #[test]
    fn colours_and_cursor_moves_go_entirely() {
        assert_eq!(terminal_safe("\u{1b}[1;31merror\u{1b}[0m: x"), "error: x");
        assert_eq!(terminal_safe("a\u{1b}[10A\u{1b}[?25lb"), "ab");
        assert_eq!(terminal_safe("\u{1b}(Bx\u{1b}cy\u{1b}7z"), "xyz");
        // The C1 form of CSI, and OSC ended by ST.
        assert_eq!(
            terminal_safe("a\u{9b}2Jb\u{1b}]8;;http://x\u{1b}\\link"),
            "ablink"
        );
        // DCS and APC strings up to their terminator.
        assert_eq!(
            terminal_safe("a\u{1b}Pq#0\u{1b}\\b\u{1b}_hidden\u{9c}c"),
            "abc"
        );
    }

    #[test]
    fn an_unterminated_string_ends_at_the_line() {
        assert_eq!(
            terminal_safe("ok\u{1b}]0;never ends\nnext line"),
            "ok\nnext line"
        );
        assert_eq!(terminal_safe("trailing escape\u{1b}"), "trailing escape");
        assert_eq!(
            terminal_safe("broken csi\u{1b}[12\nrest"),
            "broken csi\nrest"
        );
    }

    #[test]
    fn every_other_control_goes_and_line_feeds_and_tabs_stay() {
        // Each control alone (ESC and the C1 introducers start sequences,
        // tested above).
        let introducers = [
            '\u{1b}', '\u{90}', '\u{98}', '\u{9b}', '\u{9d}', '\u{9e}', '\u{9f}',
        ];
        for c in (0u32..0x20)
            .chain([0x7f])
            .chain(0x80..0xa0)
            .filter_map(char::from_u32)
            .filter(|c| !introducers.contains(c))
        {
            let expected = match c {
                '\n' | '\t' => format!("a{c}b"),
                _ => "ab".to_owned(),
            };
            assert_eq!(
                terminal_safe(&format!("a{c}b")),
                expected,
                "U+{:04X}",
                c as u32
            );
        }
        assert_eq!(terminal_safe("windows\r\nline\rover"), "windows\nlineover");
    }

    #[test]
    fn bidirectional_overrides_go() {
        let trojan = "if admin \u{202E}{ } \u{2066}// check\u{2069}\u{202A}x\u{202B}\u{202C}\u{202D}\u{2067}\u{2068}";
        assert_eq!(terminal_safe(trojan), "if admin { } // checkx");
        // Ordinary right-to-left text is not a control.
        assert_eq!(terminal_safe("שלום"), "שלום");
    }
}
