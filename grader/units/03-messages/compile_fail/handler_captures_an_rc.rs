//! A handler that captures an `Rc` is not `Send` (E0277).
use std::rc::Rc;

use messages::{Dispatcher, NewMessage};

fn main() {
    let seen = Rc::new(std::cell::Cell::new(0));
    let mut dispatcher = Dispatcher::new();
    dispatcher.on(NewMessage, move |_message| {
        seen.set(seen.get() + 1);
        async { Ok(()) }
    });
}
