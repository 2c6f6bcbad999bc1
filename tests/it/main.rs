//! sohbet's integration tests as one test binary (issue 21; zero2prod's
//! `tests/api/main.rs`): each module below was its own binary before, and
//! each one linked the whole crate. Every test starts the real server
//! through `common::spawn` (the same `App` as `main`) with a fresh database.
//!
//! Run one area with a filter: `cargo test --test it telegram_` or
//! `cargo test --test it hardening::`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on what they assert

#[macro_use]
mod common;
#[path = "support/flask_fixture.rs"]
mod flask_fixture;

mod agent_names;
mod agent_presence;
mod agents;
mod api;
mod assignment;
mod bad_input;
mod canned;
mod cli;
mod connections;
mod data_export;
mod data_lifecycle;
mod email;
mod flask_upgrade;
mod hardening;
mod hardening3;
mod load_balancer;
mod login;
mod notes;
mod openapi;
mod operations;
mod receipts_store;
mod redis_recovery;
mod search;
mod soak;
mod store;
mod support_team;
mod telegram_buttons;
mod telegram_canned;
mod telegram_coalesce;
mod telegram_double;
mod telegram_edits;
mod telegram_fair;
mod telegram_fencing;
mod telegram_forward;
mod telegram_load;
mod telegram_media;
mod telegram_outbox;
mod telegram_replies;
mod telegram_topic_chat;
mod telegram_topics;
mod telegram_webhook;
mod thread_events;
mod thread_tools;
mod uploads;
mod widget;
