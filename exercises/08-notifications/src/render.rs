//! The terminal toast. One fixed layout, so that a check can compare it
//! character for character:
//!
//! ```text
//! ❌ Disk almost full
//!    Only 2% of the disk is left.
//!    [error · urgent]  view details →  ✕
//! ```
//!
//! The first line is the icon and the title; the second the content (left
//! out when there is none); the third the level and priority in brackets,
//! then the course's two buttons, "view details →" and the close ✕, two
//! spaces apart. The indent is three spaces.

use crate::notification::Notification;

// ANCHOR: render
/// The toast for a terminal, as the module's layout describes: lines joined
/// with `\n`, no newline at the end.
pub fn render(notification: &Notification) -> String {
    // ANCHOR_END: render
    todo!("Task 2: render the toast (chapter 08, section \"Task 2: The terminal toast\")")
}
