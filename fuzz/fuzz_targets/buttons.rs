//! Button custom ids (`discord::buttons`): any text a client puts in a custom id (up to a
//! size well past Discord's 100) parses without a panic, and whatever parses is exactly what
//! the bot itself would have written for it (nothing is read that the bot did not write).

#![no_main]

use articlebot::discord::buttons::{self, Action, ButtonId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let id = String::from_utf8_lossy(data);
    match buttons::parse(&id) {
        Some(ButtonId::Carried {
            action,
            asker,
            command: Some(command),
        }) => {
            assert_ne!(action, Action::Delete);
            assert_eq!(
                buttons::carried(action, asker, &command).as_deref(),
                Some(&*id)
            );
        }
        Some(ButtonId::Carried {
            action,
            asker,
            command: None,
        }) => {
            assert_eq!(action, Action::Delete);
            assert_eq!(buttons::delete(asker), id);
        }
        Some(ButtonId::Stored {
            action,
            id: n,
            asker,
        }) => {
            assert_eq!(buttons::stored(action, n, asker), id);
        }
        None => {}
    }
    if let Some(section) = buttons::parse_section(&id) {
        assert_eq!(section.custom_id(), id);
    }
});
