//! The embeddable widget's side of a test: a host origin that
//! `EMBED_ORIGINS` lists, a client without cookies (as a framed view with
//! third-party cookies blocked), the visitor token `/embed` renders and
//! requests made with it (`widget`, `hardening3`).

use serde_json::Value;

use super::TestApp;

/// The host site's origin the tests list in `EMBED_ORIGINS`.
pub const ORIGIN: &str = "http://localhost:8123";

/// A desktop Chrome's User-Agent (the page context parses it).
pub const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                             Chrome/131.0.0.0 Safari/537.36";

/// A client without a cookie jar, as Chrome.
pub fn cookieless() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(CHROME_UA)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Loads `/embed` and returns the fresh visitor token rendered into it.
pub async fn embed_token(app: &TestApp) -> String {
    let html = cookieless()
        .get(format!("{}/embed?origin={ORIGIN}", app.base))
        .send()
        .await
        .expect("GET /embed")
        .text()
        .await
        .expect("html");
    let start = html.find("data-fresh-token=\"").expect("fresh token") + 18;
    let end = start + html[start..].find('"').expect("end quote");
    html[start..end].to_owned()
}

/// The thread a visitor token names.
pub fn thread_of(token: &str) -> String {
    token.split('.').nth(1).expect("thread part").to_owned()
}

/// A request with `Authorization: Bearer token` and no cookie: its status
/// and JSON body (`Null` when there is none).
pub async fn call(token: &str, method: &str, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = cookieless()
        .request(method.parse().expect("method"), url)
        .header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}
