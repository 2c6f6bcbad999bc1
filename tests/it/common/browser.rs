//! One browser of a test: its own cookie jar and CSRF token, and the
//! requests the contract tests make (`/api/session`, login, send, history).

use serde_json::{Value, json};

/// One browser (cookie jar + CSRF token).
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Browser {
    /// A browser of the server at `base` (`http://127.0.0.1:<port>`): its
    /// own cookie jar, redirects not followed, no CSRF token yet.
    pub fn new(base: &str) -> Browser {
        Browser::with(base, reqwest::Client::builder())
    }

    /// As [`Browser::new`], its requests sent from local address `ip`: a
    /// client at another address (any `127.x.y.z` reaches a server on
    /// 127.0.0.1, and the server sees that address).
    pub fn from_address(base: &str, ip: std::net::IpAddr) -> Browser {
        Browser::with(base, reqwest::Client::builder().local_address(ip))
    }

    fn with(base: &str, builder: reqwest::ClientBuilder) -> Browser {
        Browser {
            client: builder
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            csrf: String::new(),
        }
    }

    /// Opens `/api/session`, keeping the cookie and CSRF token.
    pub async fn init(&mut self) -> Value {
        let (status, body) = self.get("/api/session").await;
        assert_eq!(status, 200);
        self.csrf = body["csrf_token"].as_str().expect("csrf_token").to_owned();
        body
    }

    /// This agent's view of thread `tid` in `GET /api/threads?status=all`
    /// (panics when it is not listed).
    pub async fn listed_thread(&self, tid: &str) -> serde_json::Value {
        let (s, b) = self.get("/api/threads?status=all").await;
        assert_eq!(s, 200, "{b}");
        b["threads"]
            .as_array()
            .expect("threads")
            .iter()
            .find(|t| t["id"].as_str() == Some(tid))
            .cloned()
            .unwrap_or_else(|| panic!("{tid} not listed: {b}"))
    }

    /// This browser's thread (from `/api/session`).
    pub async fn thread_id(&self) -> String {
        self.get("/api/session").await.1["thread_id"]
            .as_str()
            .expect("thread_id")
            .to_owned()
    }

    /// `GET path`: (status, JSON body or `null`).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `method path` with the CSRF token and, if given, a JSON body:
    /// (status, JSON body or `null`). For the verbs `get` and `post` do not
    /// cover (`PUT`, `PATCH`, `DELETE`) and for a request without a body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-CSRFToken", &self.csrf);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` as text (a page), asserting nothing about the status.
    pub async fn page(&self, path: &str) -> String {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("page text")
    }

    /// `POST path` with a JSON body and the CSRF token.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_raw(path, body.to_string(), "application/json", Some(&self.csrf))
            .await
    }

    /// `POST path` with any body and content type, and the CSRF token if given.
    pub async fn post_raw(
        &self,
        path: &str,
        body: String,
        ctype: &str,
        csrf: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", ctype)
            .body(body);
        if let Some(t) = csrf {
            req = req.header("X-CSRFToken", t);
        }
        let r = req.send().await.expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /admin/login` with these credentials; returns the answer.
    pub async fn login(&self, username: &str, password: &str) -> (u16, Value) {
        self.post(
            "/admin/login",
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// Sends a text message; returns the answer.
    pub async fn send(&self, thread_id: Option<&str>, text: &str) -> (u16, Value) {
        let mut body = json!({"text": text, "type": "text"});
        if let Some(t) = thread_id {
            body["thread_id"] = json!(t);
        }
        self.post("/api/messages/send", body).await
    }

    /// The thread's history (`/api/messages/<thread>?<query>`), asserting a 200.
    pub async fn messages(&self, thread_id: &str, query: &str) -> Vec<Value> {
        let (s, b) = self.get(&format!("/api/messages/{thread_id}{query}")).await;
        assert_eq!(s, 200, "{b}");
        b["messages"].as_array().expect("messages").clone()
    }
}
