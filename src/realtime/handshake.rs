//! The Socket.IO handshake: refuses a foreign `Origin` (`origin_error`), a
//! missing or wrong `auth.csrf_token` (`csrf_error`) and an admin socket
//! without an admin session (`auth_error`); the refusal reaches the client
//! as `connect_error` with that message.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use serde::Deserialize;
use socketioxide::{
    adapter::Adapter,
    extract::{SocketRef, State, TryData},
};

use super::SocketSession;
use crate::{
    AppState, auth, config::Config, http::error::AppError, limits::sockets::EngineSession,
};

pub use crate::domain::Role;

/// `auth` of the handshake: `{csrf_token, role?: "visitor" | "admin",
/// last_message_id?}`.
#[derive(Debug, Default, Deserialize)]
pub struct HandshakeAuth {
    /// The page's CSRF token.
    pub csrf_token: Option<String>,
    /// Wanted role; without it, admin when the admin session is valid.
    pub role: Option<String>,
    /// A reconnecting visitor's newest message id: the server replays
    /// everything after it, in order.
    pub last_message_id: Option<crate::domain::MessageId>,
    /// The embed view's visitor token ([`crate::auth::visitor_token`]):
    /// when present the socket is that token's visitor, cookies and
    /// `csrf_token` are not used (a wrong token → `auth_error`).
    pub visitor_token: Option<String>,
}

/// Why a handshake was refused (its `Display` is the `connect_error` message).
#[derive(Debug)]
pub struct Refused(pub &'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Is the handshake's `Origin` this server itself (same host), one of
/// `ALLOWED_ORIGINS` or one of `EMBED_ORIGINS`? No `Origin` (non-browser
/// clients, same-origin polling GETs) is allowed; the CSRF token or the
/// visitor token still has to match.
pub fn origin_allowed(headers: &HeaderMap, config: &Config) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if config.allowed_origins.iter().any(|o| o == origin)
        || config
            .embed
            .origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let bare = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((bare, host), (Some(b), Some(h)) if b.eq_ignore_ascii_case(h))
}

/// Connect middleware: checks origin, CSRF, role and the per-IP socket cap;
/// stores the [`SocketSession`] (with the socket's cap slot and presence,
/// released when the socket is dropped, however it ends), joins the rooms
/// and registers the event handlers — all before the CONNECT packet is
/// sent, so that an event the client emits at once is never dropped.
///
/// # Errors
/// [`Refused`] with `origin_error`, `csrf_error`, `auth_error`,
/// `rate_limited` (too many sockets from one IP) or `server_error`.
pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    TryData(data): TryData<HandshakeAuth>,
) -> Result<(), Refused> {
    let headers = &s.req_parts().headers;
    if !origin_allowed(headers, &state.config) {
        tracing::info!("socket refused: foreign origin");
        return Err(Refused("origin_error"));
    }
    let data = data.unwrap_or_default();
    let identity = match data.visitor_token.as_deref() {
        // The embed view: the token alone, never the cookies (nor the admin).
        Some(token) => auth::cookies::Identity {
            visitor_id: Some(
                state
                    .auth
                    .verify_visitor_token(token)
                    .ok_or(Refused("auth_error"))?,
            ),
            ..Default::default()
        },
        None => {
            let identity = auth::cookies::identify(&state.auth, &state.cookies, headers)
                .await
                .map_err(|e| {
                    // The client is told only `server_error`; the cause is
                    // logged here, once.
                    let e = AppError::from(e);
                    let detail = match &e {
                        AppError::Internal(source) => source.chain(),
                        _ => e.to_string(),
                    };
                    tracing::error!(%detail, "socket handshake: cannot read the admin session");
                    Refused("server_error")
                })?;
            let token = data.csrf_token.as_deref().unwrap_or_default();
            match &identity.visitor_id {
                Some(vid) if state.auth.csrf_ok(vid, token) => {}
                _ => return Err(Refused("csrf_error")),
            }
            identity
        }
    };
    let Some(visitor_id) = identity.visitor_id else {
        return Err(Refused("csrf_error"));
    };
    let role = match (data.role.as_deref(), &identity.admin) {
        (Some("visitor"), _) => Role::Visitor,
        (Some("admin"), None) => return Err(Refused("auth_error")),
        (_, Some(_)) => Role::Admin,
        (_, None) => Role::Visitor,
    };
    let admin = if role == Role::Admin {
        identity.admin
    } else {
        None
    };
    let ip =
        crate::limits::request_ip(&s.req_parts().extensions, headers, state.config.trust_proxy);
    let Some(slot) = state.limits.sockets.open_socket(ip) else {
        tracing::info!(%ip, "socket refused: too many sockets from one address");
        return Err(Refused("rate_limited"));
    };
    let presence = match role {
        Role::Visitor => {
            s.join([super::thread_room(&visitor_id), super::VISITORS.to_owned()]);
            state.presence.visitor_socket(&visitor_id)
        }
        Role::Admin => {
            s.join(super::ADMINS);
            state.presence.admin_socket()
        }
    };
    let last_message_id = data.last_message_id.filter(|_| role == Role::Visitor);
    let viewer = (role == Role::Admin).then(|| state.presence.agents().guard(s.id.to_string()));
    // An open panel socket counts its agent as active (round robin).
    let active = admin
        .as_ref()
        .and_then(|a| a.agent.id)
        .map(|id| state.chat.agent_socket_open(id));
    s.extensions.insert(Arc::new(SocketSession {
        _active: active,
        actor: crate::auth::Actor::for_socket(&visitor_id, admin.as_ref().map(|a| &a.agent)),
        role,
        visitor_id,
        admin,
        ip,
        first: presence.first,
        last_message_id,
        _slot: slot,
        _presence: presence,
        _viewer: viewer,
    }));
    super::events::register(&s);
    // The Engine.IO session is no longer pending (it was counted by
    // `realtime::gate` when it began).
    if let Some(session) = s.req_parts().extensions.get::<Arc<EngineSession>>() {
        session.connected();
    }
    Ok(())
}
