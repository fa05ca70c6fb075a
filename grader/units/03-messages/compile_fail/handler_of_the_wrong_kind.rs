//! A handler for typing indicators registered for `new_message`: the
//! dispatcher's types refuse it (E0631).
use messages::{Dispatcher, Incoming, NewMessage, TypingIndicator};

fn main() {
    let mut dispatcher = Dispatcher::new();
    dispatcher.on(NewMessage, |_typing: Incoming<TypingIndicator>| async move { Ok(()) });
}
