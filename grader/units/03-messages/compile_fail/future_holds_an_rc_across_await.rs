//! A handler whose future holds an `Rc` across an `.await` is not `Send`:
//! "future cannot be sent between threads safely".
use std::rc::Rc;

use messages::{Dispatcher, NewMessage};

fn main() {
    let mut dispatcher = Dispatcher::new();
    dispatcher.on(NewMessage, |message| async move {
        let content = Rc::new(message.payload.content);
        std::future::ready(()).await;
        println!("{content}");
        Ok(())
    });
}
