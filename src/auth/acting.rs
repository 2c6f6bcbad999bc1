//! Who is named as having acted on a thread (issue 22 item 7): the one
//! place that turns "the admin, from the panel or from Telegram" into the
//! `{id, name}` of a thread event and of `thread_updated.by`.
//!
//! The panel's agent is named by its session's agent (id and display
//! name); Telegram by the agent a member acts as ([`Acting::Agent`]), or
//! by [`TELEGRAM_NAME`] without an id when no agent is known.

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
    /// A known agent acting elsewhere (a linked Telegram member).
    Agent(&'a crate::domain::AgentRef),
    /// The Telegram admin chat (a button or a command) by no known agent.
    Telegram,
}

impl From<&crate::domain::AgentRef> for ActedBy {
    fn from(a: &crate::domain::AgentRef) -> ActedBy {
        ActedBy {
            id: a.id,
            name: a.display_name.clone(),
        }
    }
}

/// The agent who acts, as events and `thread_updated.by` name it.
pub fn acting_agent(acting: Acting<'_>) -> ActedBy {
    match acting {
        Acting::Session(s) => ActedBy::from(&s.agent),
        Acting::Agent(a) => ActedBy::from(a),
        Acting::Telegram => ActedBy {
            id: None,
            name: TELEGRAM_NAME.to_owned(),
        },
    }
}
