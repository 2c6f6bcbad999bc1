//! The double's HTTP side: `/bot<token>/<method>` with the parameters in
//! the query string, a JSON, form or multipart body (read with axum's
//! extractors, as Telegram accepts all four), the failures a test asked
//! for, the call record, and the Bot API envelope
//! (`{"ok": true, "result": …}` or `{"ok": false, "error_code", "description"}`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Form, Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use serde_json::{Map, Value, json};

use super::{
    ApiResult, Call, Failure, Inner, NGINX_502, St, TOKEN, Upload, bad, callbacks, forum, media,
    messages, param_str, updates,
};

/// The state the handlers share.
pub(super) type Shared = Arc<Inner>;

/// The double's routes.
pub(super) fn router(inner: Shared) -> Router {
    Router::new()
        .route("/file/{bot}/{*path}", get(media::download))
        .route("/{bot}/{method}", any(handle))
        .fallback(|| async { envelope(404, Err((404, "Not Found".into()))) })
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(inner)
}

/// Every method the double knows, by method group.
fn dispatch(st: &mut St, m: &str, p: &Map<String, Value>, uploads: &[Upload]) -> ApiResult {
    messages::call(st, m, p)
        .or_else(|| media::call(st, m, p, uploads))
        .or_else(|| updates::call(st, m, p))
        .or_else(|| forum::call(st, m, p))
        .or_else(|| callbacks::call(st, m, p))
        .unwrap_or_else(|| Err((404, "Not Found".into())))
}

/// How a request's parameters came, the parameters (form and multipart
/// fields as strings), and its file parts.
type Params = (&'static str, Map<String, Value>, Vec<Upload>);

/// The query string's parameters plus the body's, by content type.
async fn read_params(query: Vec<(String, String)>, req: Request) -> Result<Params, String> {
    let mut params: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    if bytes.is_empty() {
        return Ok(("none", params, vec![]));
    }
    let ctype = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let req = Request::from_parts(parts, Body::from(bytes));
    if ctype.starts_with("application/json") {
        let Json(body) = Json::<Map<String, Value>>::from_request(req, &())
            .await
            .map_err(|e| e.body_text())?;
        params.extend(body);
        Ok(("json", params, vec![]))
    } else if ctype.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|e| e.body_text())?;
        let mut uploads = vec![];
        while let Some(field) = form.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| e.body_text())?.to_vec();
            if file_name.is_some() {
                uploads.push(Upload {
                    name,
                    file_name,
                    content_type,
                    bytes,
                });
            } else {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                params.insert(name, Value::String(text));
            }
        }
        Ok(("multipart", params, uploads))
    } else {
        let Form(form) = Form::<Vec<(String, String)>>::from_request(req, &())
            .await
            .map_err(|e| e.body_text())?;
        params.extend(form.into_iter().map(|(k, v)| (k, Value::String(v))));
        Ok(("form", params, vec![]))
    }
}

async fn handle(
    State(d): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default().to_owned();
    let (encoding, params, uploads) = match read_params(query, req).await {
        Ok(p) => p,
        Err(e) => return envelope(400, Err(bad(e))),
    };
    let lower = method.to_ascii_lowercase();
    let seq_at = Instant::now();
    if lower == "getupdates" {
        let off = param_str(&params, "offset").and_then(|o| o.parse::<i64>().ok());
        let mut st = d.lock();
        if let Some(o) = off {
            st.max_offset = st.max_offset.max(o);
        }
        callbacks::note_allowed(&mut st, &params);
    }
    enum Pre {
        Down,
        Refuse(ApiResult),
        /// An error answer with HTTP status 200 ([`TelegramDouble::fail_method`]).
        Fail(ApiResult),
        Garble,
        Go,
    }
    let is_send = lower.starts_with("send");
    let _in_flight = is_send.then(|| InFlight::enter(&d));
    let content = param_str(&params, "text")
        .or_else(|| param_str(&params, "caption"))
        .unwrap_or_default();
    let (pre, hold) = {
        let mut st = d.lock();
        let failing = st
            .failing
            .iter()
            .find(|(m, _)| is_send && content.contains(m.as_str()))
            .map(|(_, how)| *how);
        let hold = (is_send && st.holding.iter().any(|m| content.contains(m.as_str())))
            .then_some(st.release_epoch);
        let pre = if token != TOKEN {
            Pre::Refuse(Err((401, "Unauthorized".into())))
        } else if st.down {
            Pre::Down
        } else if let Some(t) = st
            .throttles
            .iter_mut()
            .find(|t| t.remaining > 0 && t.method == lower)
        {
            t.remaining -= 1;
            let ra = t.retry_after;
            match t.answer.clone() {
                Some(a) => Pre::Fail(Err(a)),
                None => Pre::Refuse(Err((429, format!("Too Many Requests: retry after {ra}")))),
            }
        } else if let Some(r) = (token == TOKEN)
            .then(|| forum::pre_check(&mut st, &lower, &params))
            .flatten()
        {
            Pre::Refuse(r)
        } else if failing == Some(Failure::Refused) {
            Pre::Refuse(Err(bad("message refused by the test double")))
        } else if failing == Some(Failure::Garbled) {
            Pre::Garble
        } else {
            Pre::Go
        };
        (pre, hold)
    };
    let garbled = matches!(pre, Pre::Garble);
    let http_200 = matches!(pre, Pre::Fail(_));
    let res = match pre {
        Pre::Down | Pre::Garble => None,
        Pre::Refuse(r) | Pre::Fail(r) => Some(r),
        Pre::Go if lower == "getupdates" => Some(updates::get_updates(&d, &params).await),
        Pre::Go => Some(dispatch(&mut d.lock(), &lower, &params, &uploads)),
    };
    let (status, answer, response) = match res {
        None if garbled => {
            // An answer cut short: it echoes the message, like Telegram's.
            let cut = format!(r#"{{"ok":true,"result":{{"text":{}"#, json!(content));
            let resp = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                cut.clone(),
            )
                .into_response();
            (200, Value::String(cut), resp)
        }
        None => {
            let resp = (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                NGINX_502,
            )
                .into_response();
            (502, Value::String(NGINX_502.into()), resp)
        }
        Some(res) => {
            let status = match &res {
                Ok(_) => 200,
                Err((code, _)) => *code,
            };
            let answer = envelope_json(&res);
            let resp = json_response(if http_200 { 200 } else { status }, &answer);
            (status, answer, resp)
        }
    };
    {
        let mut st = d.lock();
        let seq = st.calls.len();
        st.calls.push(Call {
            seq,
            at: seq_at,
            method,
            encoding,
            params,
            uploads,
            status,
            answer,
        });
    }
    // A held send is recorded (Telegram took it) before its answer leaves.
    if let Some(epoch) = hold {
        let deadline = Instant::now() + Duration::from_secs(60);
        while d.lock().release_epoch == epoch && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    response
}

/// Counts a `send*` call in flight while it lives (also when the client
/// goes away and the handler is dropped).
struct InFlight(Shared);

impl InFlight {
    fn enter(d: &Shared) -> InFlight {
        let mut st = d.lock();
        st.sends_in_flight += 1;
        st.max_sends_in_flight = st.max_sends_in_flight.max(st.sends_in_flight);
        InFlight(d.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().sends_in_flight -= 1;
    }
}

fn envelope_json(res: &ApiResult) -> Value {
    match res {
        Ok(v) => json!({"ok": true, "result": v}),
        Err((429, desc)) => {
            let ra: u32 = desc
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            json!({"ok": false, "error_code": 429, "description": desc, "parameters": {"retry_after": ra}})
        }
        Err((code, desc)) => json!({"ok": false, "error_code": code, "description": desc}),
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

pub(super) fn envelope(status: u16, res: ApiResult) -> Response {
    json_response(status, &envelope_json(&res))
}
