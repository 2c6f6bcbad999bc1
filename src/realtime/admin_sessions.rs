//! Admin sockets follow their session (issue 8 item 5): a socket that was
//! opened with an admin session loses its rights when that session ends.
//!
//! - Logout ([`AdminSockets::revoke`]) disconnects the session's sockets on
//!   this instance at once (and other instances within one sweep).
//! - A sweep every [`SWEEP_EVERY`] disconnects the admin sockets of this
//!   instance whose session is gone, idle or past its absolute lifetime
//!   ([`run`]); it does not mark sessions used, so an open socket alone does
//!   not keep a session alive.
//! - Every admin event re-checks its session ([`AdminSockets::recheck`],
//!   which marks it used), with a cache of [`RECHECK_CACHE`] per session.
//!
//! Owns only this bookkeeping; the handshake and the events stay in
//! `handshake.rs` and `events.rs`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use socketioxide::{SocketIo, adapter::Adapter, extract::SocketRef};
use tokio::sync::broadcast;

use super::{ADMINS, SocketSession};
use crate::{AppState, auth::Auth, http::error::AppResult};

/// How often the sweep looks at every admin socket of this instance.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3);

/// How long an admin event may rely on the last confirmation of its
/// session before asking the database again.
pub const RECHECK_CACHE: Duration = Duration::from_secs(5);

/// Sessions confirmed recently; beyond this many, stale entries are dropped.
const CACHE_MAX: usize = 1_000;

/// Shared handle: the re-check cache and the logout signal; cheap to clone.
#[derive(Clone)]
pub struct AdminSockets {
    inner: Arc<Inner>,
}

struct Inner {
    /// Session token hash → when the database last confirmed it.
    confirmed: Mutex<HashMap<String, Instant>>,
    /// Bumped by every [`AdminSockets::revoke`]: a confirmation read from
    /// the database before a revoke is not cached after it.
    generation: std::sync::atomic::AtomicU64,
    /// Token hashes of sessions just ended on this instance.
    revoked: broadcast::Sender<String>,
}

impl Default for AdminSockets {
    fn default() -> Self {
        AdminSockets {
            inner: Arc::new(Inner {
                confirmed: Mutex::default(),
                generation: std::sync::atomic::AtomicU64::new(0),
                revoked: broadcast::channel(64).0,
            }),
        }
    }
}

impl AdminSockets {
    /// The session of `token_hash` ended (logout): forget its confirmation
    /// and disconnect its sockets on this instance now.
    pub fn revoke(&self, token_hash: &str) {
        let mut map = self.lock();
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        map.remove(token_hash);
        drop(map);
        // No receiver (no Socket.IO layer) is fine: nothing to disconnect.
        let _ = self.inner.revoked.send(token_hash.to_owned());
    }

    /// Is the session of `token_hash` still live? Answers from a
    /// confirmation younger than [`RECHECK_CACHE`], else asks the database
    /// (which also marks the session used, as any admin request does).
    ///
    /// # Errors
    /// Database errors.
    pub async fn recheck(&self, auth: &Auth, token_hash: &str) -> AppResult<bool> {
        let fresh = self
            .lock()
            .get(token_hash)
            .is_some_and(|at| at.elapsed() < RECHECK_CACHE);
        if fresh {
            return Ok(true);
        }
        let before = self
            .inner
            .generation
            .load(std::sync::atomic::Ordering::Acquire);
        let live = auth.session_by_hash(token_hash).await?.is_some();
        let mut map = self.lock();
        let revoked_meanwhile = self
            .inner
            .generation
            .load(std::sync::atomic::Ordering::Acquire)
            != before;
        if live && revoked_meanwhile {
            // A logout raced this read: ask again, cache nothing.
            drop(map);
            return Ok(auth.session_by_hash(token_hash).await?.is_some());
        }
        if live {
            if map.len() >= CACHE_MAX {
                map.retain(|_, at| at.elapsed() < RECHECK_CACHE);
            }
            map.insert(token_hash.to_owned(), Instant::now());
        } else {
            map.remove(token_hash);
        }
        Ok(live)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.inner
            .confirmed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The admin sockets of this instance with their session's token hash.
fn admin_sockets<A: Adapter>(io: &SocketIo<A>) -> Option<Vec<(SocketRef<A>, String)>> {
    let sockets = io.of("/")?.to(ADMINS).sockets();
    Some(
        sockets
            .into_iter()
            .filter_map(|s| {
                let hash = s
                    .extensions
                    .get::<Arc<SocketSession>>()?
                    .admin
                    .as_ref()?
                    .token_hash
                    .clone();
                Some((s, hash))
            })
            .collect(),
    )
}

fn disconnect<A: Adapter>(s: SocketRef<A>, why: &'static str) {
    tracing::info!(sid = %s.id, why, "admin socket disconnected: session ended");
    // Out of `admins` and every thread room at once, even when its send
    // buffer is full and the DISCONNECT packet has to wait.
    super::fanout::disconnect_soon(s);
}

/// Disconnects the sockets of one session (after a logout).
fn disconnect_session<A: Adapter>(io: &SocketIo<A>, token_hash: &str) {
    for (s, hash) in admin_sockets(io).unwrap_or_default() {
        if hash == token_hash {
            disconnect(s, "logout");
        }
    }
}

/// One sweep: asks the database once per session and disconnects the
/// sockets of sessions that are no longer live. `false` once the
/// namespace is gone (the server is shutting down).
async fn sweep<A: Adapter>(io: &SocketIo<A>, auth: &Auth) -> bool {
    let Some(sockets) = admin_sockets(io) else {
        return false;
    };
    let mut by_session: HashMap<String, Vec<SocketRef<A>>> = HashMap::new();
    for (s, hash) in sockets {
        by_session.entry(hash).or_default().push(s);
    }
    for (hash, sockets) in by_session {
        match auth.session_live(&hash).await {
            Ok(true) => {}
            Ok(false) => sockets.into_iter().for_each(|s| disconnect(s, "expired")),
            Err(e) => tracing::warn!(error = %e, "admin socket sweep: cannot check a session"),
        }
    }
    true
}

/// Starts [`run`] for this Socket.IO instance.
pub fn spawn<A: Adapter>(io: &SocketIo<A>, state: &AppState) {
    tokio::spawn(run(
        io.clone(),
        state.auth.clone(),
        state.admin_sockets.clone(),
    ));
}

/// Runs until the Socket.IO namespace closes: disconnects the sockets of a
/// session as soon as it is revoked here, and sweeps every
/// [`SWEEP_EVERY`] for sessions that ended elsewhere or expired.
pub async fn run<A: Adapter>(io: SocketIo<A>, auth: Auth, handle: AdminSockets) {
    let mut revoked = handle.inner.revoked.subscribe();
    drop(handle);
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !sweep(&io, &auth).await {
                    return;
                }
            }
            r = revoked.recv() => match r {
                Ok(hash) => disconnect_session(&io, &hash),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !sweep(&io, &auth).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[tokio::test]
    async fn recheck_follows_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").display().to_string();
        let config = Config::from_lookup(|k| (k == "SQLITE_PATH").then(|| path.clone())).unwrap();
        let auth = Auth::open_for_tests(&config).await;
        let owner = auth.bootstrap_owner().await.unwrap();
        let (_, session) = auth.create_session(owner).await.unwrap().unwrap();
        let hash = session.token_hash.clone();
        let handle = AdminSockets::default();
        let mut revoked = handle.inner.revoked.subscribe();
        assert!(handle.recheck(&auth, &hash).await.unwrap());
        assert!(auth.session_live(&hash).await.unwrap());
        auth.end_session(&session).await.unwrap();
        // Ended on another instance: the confirmation holds for RECHECK_CACHE.
        assert!(handle.recheck(&auth, &hash).await.unwrap());
        assert!(!auth.session_live(&hash).await.unwrap());
        // Ended here: forgotten at once, and the sweep task is told.
        handle.revoke(&hash);
        assert!(!handle.recheck(&auth, &hash).await.unwrap());
        assert_eq!(revoked.try_recv().unwrap(), hash);
        assert!(!handle.recheck(&auth, "unknown").await.unwrap());
    }
}
