//! Who acts, and the one rule for what they may reach. An [`Actor`] is
//! built once per HTTP request (from the visitor cookie or token and the
//! admin session, `http::extract`) and once per socket at connect
//! (`realtime::handshake`); HTTP, Socket.IO and the chat core all ask it:
//!
//! - a **visitor** reaches only its own thread (its id is the thread's id);
//! - the **admin** reaches every thread; over HTTP a request of the admin's
//!   browser to its own visitor thread (or naming none) acts as that
//!   visitor (the panel's page can chat with itself);
//! - a thread id the request names must be a valid [`ThreadId`].
//!
//! An admin actor carries its agent ([`AgentRef`], issue 22 item 1): who
//! of the support team acts, and whether it is an owner. Telegram actions
//! act as [`AgentRef::support`] (an owner's reach, no id) until Telegram
//! members are mapped to agents.

use super::{ChatError, ChatResult, Sender, ThreadId};
use crate::domain::{AgentRef, Role};

/// Who acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The visitor of thread `thread` (its own).
    Visitor {
        /// The visitor's id, which is its thread's id.
        thread: ThreadId,
    },
    /// The admin (a live session, or the Telegram admin chat).
    Admin {
        /// The browser's own visitor thread (HTTP requests), which the
        /// admin's browser reaches as that visitor.
        own: Option<ThreadId>,
        /// The agent who acts.
        agent: AgentRef,
    },
}

impl Actor {
    /// The actor of an HTTP request: the agent `admin` when it has a
    /// session, else the visitor `visitor_id`.
    pub fn for_request(visitor_id: &ThreadId, admin: Option<&AgentRef>) -> Actor {
        match admin {
            Some(agent) => Actor::Admin {
                own: Some(visitor_id.clone()),
                agent: agent.clone(),
            },
            None => Actor::Visitor {
                thread: visitor_id.clone(),
            },
        }
    }

    /// The actor of a socket: an admin socket is its session's agent; any
    /// other the visitor `visitor_id`.
    pub fn for_socket(visitor_id: &ThreadId, admin: Option<&AgentRef>) -> Actor {
        match admin {
            Some(agent) => Actor::Admin {
                own: None,
                agent: agent.clone(),
            },
            None => Actor::Visitor {
                thread: visitor_id.clone(),
            },
        }
    }

    /// The admin acting from Telegram (or any server-side admin action):
    /// [`AgentRef::support`], an owner's reach and no agent id, until
    /// Telegram members are mapped to agents.
    pub fn admin() -> Actor {
        Actor::Admin {
            own: None,
            agent: AgentRef::support(),
        }
    }

    /// The agent who acts (`None` for a visitor).
    pub fn agent(&self) -> Option<&AgentRef> {
        match self {
            Actor::Admin { agent, .. } => Some(agent),
            Actor::Visitor { .. } => None,
        }
    }

    /// Is this an agent with the owner's role (manages the team)?
    pub fn is_owner(&self) -> bool {
        self.agent().is_some_and(AgentRef::is_owner)
    }

    /// Its role (the one "visitor or admin" of the crate).
    pub fn role(&self) -> Role {
        match self {
            Actor::Visitor { .. } => Role::Visitor,
            Actor::Admin { .. } => Role::Admin,
        }
    }

    /// May this actor manage threads, canned replies, settings?
    pub fn can_admin(&self) -> bool {
        matches!(self, Actor::Admin { .. })
    }

    /// May this actor read thread `thread`'s messages?
    pub fn can_read(&self, thread: &str) -> bool {
        match self {
            Actor::Admin { .. } => true,
            Actor::Visitor { thread: own } => own.as_str() == thread,
        }
    }

    /// May this actor write to thread `thread`? (A blocked visitor may
    /// still not: the core checks blocks.)
    pub fn can_post(&self, thread: &str) -> bool {
        self.can_read(thread)
    }

    /// The thread a request names (`None`: the actor's own) and who acts on
    /// it there: the admin on another thread, else the visitor on its own.
    ///
    /// # Errors
    /// `Forbidden` for a visitor naming another thread; `Validation` for an
    /// admin naming no thread (sockets) or an invalid id.
    pub fn target(&self, thread_id: Option<&str>) -> ChatResult<(Sender, ThreadId)> {
        let own = match self {
            Actor::Visitor { thread } => Some(thread),
            Actor::Admin { own, .. } => own.as_ref(),
        };
        match (self, thread_id, own) {
            (Actor::Admin { .. }, Some(t), own) if own.is_none_or(|o| o.as_str() != t) => {
                let id = ThreadId::parse(t).map_err(|e| ChatError::Validation(e.to_string()))?;
                Ok((Sender::Admin, id))
            }
            (_, None, None) => Err(ChatError::Validation("thread_id is required".into())),
            // The one rule: a visitor reaches only its own thread.
            (_, Some(t), Some(_)) if !self.can_post(t) => {
                Err(ChatError::Forbidden("You can only reach your own thread"))
            }
            (_, _, Some(own)) => Ok((
                Sender::Visitor {
                    thread_id: own.clone(),
                },
                own.clone(),
            )),
            (_, Some(_), None) => Err(ChatError::Validation("thread_id is required".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tid(s: &str) -> ThreadId {
        ThreadId::parse(s).unwrap()
    }

    #[test]
    fn a_visitor_reaches_only_its_own_thread() {
        let v = Actor::for_request(&tid("t1"), None);
        assert!(v.can_read("t1") && !v.can_read("t2") && !v.can_admin());
        assert_eq!(v.role(), Role::Visitor);
        assert_eq!(v.target(None).unwrap().0.role(), Role::Visitor);
        assert_eq!(v.target(None).unwrap().1.as_str(), "t1");
        assert!(matches!(v.target(Some("t2")), Err(ChatError::Forbidden(_))));
    }

    fn v_is_owner() -> bool {
        Actor::for_request(&tid("t1"), None).is_owner()
    }

    #[test]
    fn the_admin_reaches_every_thread() {
        let agent = AgentRef {
            id: Some(crate::domain::AgentId(2)),
            role: crate::domain::AgentRole::Agent,
            display_name: "Ayşe".into(),
        };
        let a = Actor::for_request(&tid("own"), Some(&agent));
        assert!(!a.is_owner() && a.agent() == Some(&agent) && !v_is_owner());
        assert!(Actor::admin().is_owner() && Actor::admin().agent().unwrap().id.is_none());
        assert!(a.can_read("t2") && a.can_admin());
        assert_eq!(a.role(), Role::Admin);
        assert_eq!(a.target(Some("t2")).unwrap().0, Sender::Admin);
        // Its browser's own thread: as that visitor.
        assert!(matches!(a.target(None).unwrap().0, Sender::Visitor { .. }));
        assert!(matches!(
            a.target(Some("own")).unwrap().0,
            Sender::Visitor { .. }
        ));
        let socket = Actor::for_socket(&tid("own"), Some(&agent));
        assert!(matches!(socket.target(None), Err(ChatError::Validation(_))));
        assert!(socket.target(Some(&"x".repeat(65))).is_err());
    }
}
