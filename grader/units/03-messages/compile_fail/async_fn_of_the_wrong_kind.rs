//! An `async fn` for the wrong payload is refused the same way (E0631).
use messages::{Dispatcher, HandlerResult, Incoming, NewMessage, TypingIndicator};

async fn on_typing(_typing: Incoming<TypingIndicator>) -> HandlerResult {
    Ok(())
}

fn main() {
    let mut dispatcher = Dispatcher::new();
    dispatcher.on(NewMessage, on_typing);
}
