//! Group commit: one task takes queued messages, stores up to
//! [`MAX_BATCH`] of them in one transaction, then answers each sender and
//! publishes the events. A message is answered only after its commit.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use super::{ChatEvent, ThreadInfo, events::Publisher};
use crate::{
    error::{AppError, AppResult},
    store::{
        Db,
        messages::{self, Inserted, NewMessage},
    },
};

/// Most messages committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// One queued message and where to send its outcome.
pub(super) struct Job {
    pub msg: NewMessage,
    pub reply: oneshot::Sender<AppResult<Inserted>>,
}

pub(super) fn spawn(db: Db, events: Arc<Publisher>, outbox: Arc<Notify>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(8 * 1024);
    tokio::spawn(run(db, events, outbox, rx));
    tx
}

async fn run(db: Db, events: Arc<Publisher>, outbox: Arc<Notify>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch: Vec<NewMessage> = jobs.iter().map(|j| j.msg.clone()).collect();
        let forwards = batch.iter().any(|m| m.forward);
        let started = std::time::Instant::now();
        let res = messages::insert_batch(&db, &batch).await;
        crate::metrics::commit(batch.len(), started.elapsed());
        match res {
            Ok(done) => {
                if forwards {
                    outbox.notify_one();
                }
                for (job, inserted) in jobs.drain(..).zip(done) {
                    finish(&events, job, Ok(inserted)).await;
                }
            }
            Err(e) if jobs.len() > 1 => {
                // One bad row must not fail its neighbours: retry one by one.
                tracing::warn!(error = %e, n = jobs.len(), "batch insert failed, retrying singly");
                for job in jobs.drain(..) {
                    let res = messages::insert_batch(&db, std::slice::from_ref(&job.msg))
                        .await
                        .map(|mut v| v.remove(0))
                        .map_err(AppError::from);
                    finish(&events, job, res).await;
                }
                if forwards {
                    outbox.notify_one();
                }
            }
            Err(e) => {
                let e = AppError::from(e);
                for job in jobs.drain(..) {
                    finish(&events, job, Err(e.clone())).await;
                }
            }
        }
    }
    tracing::debug!("message writer stopped");
}

/// Publishes what `job` stored (waiting while the broadcaster's queue is
/// full: back-pressure, never a dropped event), then answers the sender.
async fn finish(events: &Publisher, job: Job, res: AppResult<Inserted>) {
    if let Ok(ins) = &res {
        if ins.thread_created {
            events
                .publish(ChatEvent::ThreadCreated(ThreadInfo {
                    id: ins.message.thread_id.clone(),
                    display_name: job.msg.new_thread.clone().unwrap_or_default(),
                    created_at: ins.message.created_at,
                    status: "active".into(),
                }))
                .await;
        }
        if !ins.duplicate {
            crate::metrics::message_stored(job.msg.sender);
            events
                .publish(ChatEvent::MessageStored(ins.message.clone()))
                .await;
        }
    }
    let _ = job.reply.send(res);
}
