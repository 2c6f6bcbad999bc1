//! Who is named as having acted on a thread (issue 22 item 7): the one
//! place that turns "the admin, from the panel or from Telegram" into the
//! `{id, name}` of a thread event and of `thread_updated.by`.
//!
//! There are no agents yet: the panel's admin is named by its session's
//! user name (`ADMIN_USERNAME`), Telegram by [`TELEGRAM_NAME`], and the id
//! is always `None`. When agents exist, [`acting_agent`] is the function to
//! change (a session names its agent; a Telegram member its linked agent);
//! its callers stay as they are.

use crate::auth::AdminSession;
use crate::domain::ActedBy;

/// The name given to actions taken from Telegram (the default of
/// `ADMIN_DISPLAY_NAME`, the name visitors know the support by).
pub const TELEGRAM_NAME: &str = "Support";

/// Where the acting admin is.
#[derive(Clone, Copy, Debug)]
pub enum Acting<'a> {
    /// The panel, the JSON API or an admin socket: its login session.
    Session(&'a AdminSession),
    /// The Telegram admin chat (a button or a command).
    Telegram,
}

/// The agent who acts, as events and `thread_updated.by` name it. The one
/// function to swap when agents arrive (see the module header).
pub fn acting_agent(acting: Acting<'_>) -> ActedBy {
    match acting {
        Acting::Session(s) => ActedBy {
            id: None,
            name: s.username.clone(),
        },
        Acting::Telegram => ActedBy {
            id: None,
            name: TELEGRAM_NAME.to_owned(),
        },
    }
}
