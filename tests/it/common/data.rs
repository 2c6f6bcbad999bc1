//! Shared steps of the operator's data tests (`data_export`,
//! `data_lifecycle`): a server on a [`KeptDb`] with its uploads beside the
//! database, the real binary on it, and a message sent as JSON.

use std::process::Stdio;

use serde_json::Value;

use super::{Browser, KeptDb, Opts, TestApp, binary, spawn};

/// A server on `db` whose uploads go to `<db folder>/uploads` (so a
/// second server, or the binary, on the same `db` finds them).
pub async fn on_kept(db: &KeptDb, extra: Opts) -> TestApp {
    let uploads = db.path().join("uploads").display().to_string();
    spawn(extra.db(db).env("UPLOAD_DIR", &uploads)).await
}

/// `POST /api/messages/send` with `body` as `b`, asserting a 200; the answer.
pub async fn send(b: &Browser, body: Value) -> Value {
    let (s, r) = b.post("/api/messages/send", body).await;
    assert_eq!(s, 200, "{r}");
    r
}

/// The real binary on `db` (uploads in `<db folder>/uploads`) with
/// `args`: (exit code, stdout, stderr).
pub fn sohbet(db: &KeptDb, args: &[&str]) -> (i32, String, String) {
    let (k, v) = db.var();
    let uploads = db.path().join("uploads").display().to_string();
    let out = binary::command(&[(k, v.as_str()), ("UPLOAD_DIR", uploads.as_str())])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run sohbet");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
