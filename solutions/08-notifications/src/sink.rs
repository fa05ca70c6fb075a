//! Where notifications go. The centre knows only the [`Sink`] trait, so a
//! terminal, the desktop, a sound, a log or a test's recorder all plug in
//! the same way, and do-not-disturb silences all of them in one place.
//!
//! The desktop and the sound reach the operating system through two more
//! traits, [`DesktopApi`] and [`SoundPlayer`]. The sinks decide *what* to
//! show or play (the course's rules: tag = id, "require interaction" for
//! errors, only if permitted); the small trait does the OS call. Tests
//! implement those traits with recorders, so no window ever pops up.

use std::io::Write;

use crate::notification::{Level, Notification, NotificationType};
use crate::render::render;

// ANCHOR: sink
/// A destination for notifications.
pub trait Sink: Send {
    /// A short name for logs: `"terminal"`, `"desktop"`, `"sound"`.
    fn name(&self) -> &'static str;
    /// Shows (plays, writes…) one notification.
    fn deliver(&mut self, notification: &Notification);
}
// ANCHOR_END: sink

/// Writes each toast, as [`render`] draws it, followed by a blank line.
pub struct TerminalSink<W> {
    out: W,
}

impl<W: Write + Send> TerminalSink<W> {
    /// A sink writing to `out` (`std::io::stdout()`, a buffer in tests).
    pub fn new(out: W) -> TerminalSink<W> {
        TerminalSink { out }
    }
}

impl<W: Write + Send> Sink for TerminalSink<W> {
    fn name(&self) -> &'static str {
        "terminal"
    }

    fn deliver(&mut self, notification: &Notification) {
        // A terminal that cannot be written to must not stop the centre.
        if let Err(error) = write!(self.out, "{}\n\n", render(notification)) {
            tracing::warn!(%error, "the terminal sink could not write a toast");
        }
    }
}

// ANCHOR: desktop
/// What the desktop is asked to show: the browser's `new Notification(title,
/// { body, tag, requireInteraction })`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopNotification {
    /// The icon, a space, the title.
    pub title: String,
    /// The content.
    pub body: String,
    /// The notification's tag: a second notification with the same tag
    /// replaces the first on the desktop too.
    pub tag: String,
    /// Errors stay until the user closes them.
    pub require_interaction: bool,
}

/// The operating system's notification service.
pub trait DesktopApi: Send {
    /// Whether the user allowed desktop notifications.
    fn permitted(&self) -> bool;
    /// Shows one.
    fn show(&mut self, notification: DesktopNotification);
}

/// Shows notifications on the desktop, if permitted.
pub struct DesktopSink<D> {
    desktop: D,
}
// ANCHOR_END: desktop

impl<D: DesktopApi> DesktopSink<D> {
    /// A sink showing notifications through `desktop`.
    pub fn new(desktop: D) -> DesktopSink<D> {
        DesktopSink { desktop }
    }
}

impl DesktopNotification {
    // ANCHOR: desktop_for
    /// The desktop notification for a notification: title with its icon,
    /// body, tag, and `require_interaction` for the type `error`.
    pub fn for_notification(notification: &Notification) -> DesktopNotification {
        // ANCHOR_END: desktop_for
        // region: solution
        DesktopNotification {
            title: format!("{} {}", notification.icon(), notification.title),
            body: notification.content.clone(),
            tag: notification.tag.clone(),
            require_interaction: notification.kind == NotificationType::Error,
        }
        // region: stub
        // todo!("Task 5: the desktop notification (chapter 08, section \"Task 5: Desktop and sound\")")
        // endregion
    }
}

impl<D: DesktopApi> Sink for DesktopSink<D> {
    fn name(&self) -> &'static str {
        "desktop"
    }

    // ANCHOR: desktop_deliver
    fn deliver(&mut self, notification: &Notification) {
        // ANCHOR_END: desktop_deliver
        // region: solution
        if self.desktop.permitted() {
            self.desktop
                .show(DesktopNotification::for_notification(notification));
        }
        // region: stub
        // todo!("Task 5: show it if permitted (chapter 08, section \"Task 5: Desktop and sound\")")
        // endregion
    }
}

// ANCHOR: sound
/// Which sound to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    /// For messages and info.
    Chime,
    /// For warnings and errors.
    Alert,
}

/// The operating system's audio.
pub trait SoundPlayer: Send {
    /// Plays one sound.
    fn play(&mut self, sound: Sound);
}

/// Plays a sound for each notification.
pub struct SoundSink<P> {
    player: P,
}
// ANCHOR_END: sound

impl<P: SoundPlayer> SoundSink<P> {
    /// A sink playing through `player`.
    pub fn new(player: P) -> SoundSink<P> {
        SoundSink { player }
    }
}

impl Sound {
    // ANCHOR: sound_for
    /// [`Sound::Alert`] for warnings and errors, [`Sound::Chime`] otherwise.
    pub fn for_level(level: Level) -> Sound {
        // ANCHOR_END: sound_for
        // region: solution
        match level {
            Level::Warning | Level::Error => Sound::Alert,
            Level::Info | Level::Success => Sound::Chime,
        }
        // region: stub
        // todo!("Task 5: choose the sound (chapter 08, section \"Task 5: Desktop and sound\")")
        // endregion
    }
}

impl<P: SoundPlayer> Sink for SoundSink<P> {
    fn name(&self) -> &'static str {
        "sound"
    }

    fn deliver(&mut self, notification: &Notification) {
        self.player.play(Sound::for_level(notification.level));
    }
}
