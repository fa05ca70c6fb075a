//! `:shortcode:` emoji and quick replies — the course's "emoji and quick
//! replies", as two pure functions the server and the terminal client share.

// ANCHOR: emoji
/// The shortcodes the server understands, as `(name, emoji)`. The names are
/// the common ones of Slack and GitHub; a short table is enough to teach the
/// parsing, and an unknown `:name:` is left as it was typed.
pub const SHORTCODES: &[(&str, &str)] = &[
    ("smile", "😄"),
    ("laughing", "😆"),
    ("wink", "😉"),
    ("heart", "❤️"),
    ("thumbsup", "👍"),
    ("+1", "👍"),
    ("thumbsdown", "👎"),
    ("tada", "🎉"),
    ("fire", "🔥"),
    ("eyes", "👀"),
    ("wave", "👋"),
    ("thinking", "🤔"),
    ("cry", "😢"),
    ("ok", "👌"),
    ("rocket", "🚀"),
];

/// The quick replies a client offers, in the order the terminal client
/// numbers them (`/q 1` is the first).
pub const QUICK_REPLIES: &[&str] = &[
    "👍",
    "Thanks!",
    "On my way",
    "Sounds good :smile:",
    "Can we talk later?",
];

/// Replaces every `:name:` whose name is in [`SHORTCODES`] by its emoji.
///
/// Scans left to right; a colon that does not start a known shortcode is
/// kept, and the scan goes on from the next character, so `time: 12:30 :)`
/// and `::smile:` come out right (`::smile:` → `:😄`).
pub fn expand_shortcodes(text: &str) -> String {
    // region: solution
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let emoji = after.find(':').and_then(|end| {
            let name = &after[..end];
            SHORTCODES
                .iter()
                .find(|(code, _)| *code == name)
                .map(|(_, emoji)| (*emoji, end))
        });
        match emoji {
            Some((emoji, end)) => {
                out.push_str(emoji);
                rest = &after[end + 1..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
    // region: stub
    // todo!("Task 1: expand :shortcodes: (chapter 09, section \"Task 1: Emoji and quick replies\")")
    // endregion
}

/// The quick reply numbered `number` as the user sees it (1-based), or
/// `None` when there is no such reply.
pub fn quick_reply(number: usize) -> Option<&'static str> {
    // region: solution
    number
        .checked_sub(1)
        .and_then(|index| QUICK_REPLIES.get(index).copied())
    // region: stub
    // todo!("Task 1: pick a quick reply (chapter 09, section \"Task 1: Emoji and quick replies\")")
    // endregion
}
// ANCHOR_END: emoji
