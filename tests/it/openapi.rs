//! `GET /api/openapi.json` (issue 15): OpenAPI 3.1; every route of the
//! router is described; real answers match their schemas.
//!
//! "Every route" is found generically: every `.route("<path>", …)` and
//! `.route_service(…)` and `.nest_service("<path>", …)` with a literal path
//! in `src/` (so a route
//! added in any module, by anyone, fails this test until it is described;
//! see `src/http/openapi.rs` for the one step that describes it). Routes
//! whose path is computed (the Telegram webhook, from
//! `TELEGRAM_WEBHOOK_URL`) and the `/api/{*rest}` 404 catch-all are exempt.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{Backend, Opts, spawn};
use serde_json::{Value, json};

/// The Rust sources under `src/`.
fn source_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files
}

/// Schema name → the files of `src/` that define a type deriving
/// `utoipa::ToSchema` under that name (the type's name, or its
/// `#[schema(as = Name)]`); the closed sets of `text_enum!` included.
fn schema_types_in_source() -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in source_files() {
        let src = std::fs::read_to_string(&f).unwrap();
        let file = f.strip_prefix(root).unwrap().display().to_string();
        let lines: Vec<&str> = src.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            // A derive may span lines (rustfmt wraps long ones): up to `)]`.
            let end = lines[i..]
                .iter()
                .position(|l| l.contains(")]"))
                .unwrap_or(0);
            let derives = line.starts_with("#[derive(")
                && lines[i..=i + end].iter().any(|l| l.contains("ToSchema"));
            if !derives && !line.starts_with("text_enum! {") {
                continue;
            }
            let mut alias = None;
            for next in &lines[i + 1..] {
                if let Some(a) = next.strip_prefix("#[schema(as = ") {
                    alias = Some(a.trim_end_matches(")]").to_owned());
                }
                let item = next
                    .strip_prefix("pub struct ")
                    .or_else(|| next.strip_prefix("pub enum "));
                if let Some(item) = item {
                    let name: String = item
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                        .collect();
                    if !name.starts_with('$') {
                        found
                            .entry(alias.unwrap_or(name))
                            .or_default()
                            .push(file.clone());
                    }
                    break;
                }
            }
        }
    }
    found
}

/// Every schema of the document is derived from a type of `src/` (so it
/// cannot drift from the JSON the code writes or reads), one type a name
/// (utoipa keys schemas by name: a second type of the same name would
/// silently replace the first), and the only ones written for the document
/// alone are those of `HAND_WRITTEN`.
#[test]
fn every_schema_is_a_type_of_the_code() {
    /// Described by hand in `src/http/openapi.rs`: the multipart upload
    /// form (the handler reads a stream; no type has this shape).
    const HAND_WRITTEN: [&str; 1] = ["UploadForm"];
    use utoipa::OpenApi;
    let doc = serde_json::to_value(sohbet::http::openapi::ApiDoc::openapi()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("Message"), "{:?}", schemas.keys());
    let types = schema_types_in_source();
    for name in schemas.keys() {
        let files = types.get(name).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            files.len(),
            1,
            "schema `{name}`: expected one type of src/ deriving ToSchema, found {files:?}"
        );
        let only_for_the_document = files[0].starts_with("src/http/openapi");
        assert_eq!(
            only_for_the_document,
            HAND_WRITTEN.contains(&name.as_str()),
            "schema `{name}` ({}): describe the handler's own type, not a copy",
            files[0]
        );
    }
}

/// `(METHOD, path)` of every literal route in `src/`, with axum's
/// `{*name}` written as OpenAPI's `{name}`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for f in source_files() {
        let src = std::fs::read_to_string(&f).unwrap();
        for (marker, nested) in [
            (".route(", false),
            (".route_service(", false),
            (".nest_service(", true),
        ] {
            let mut rest = src.as_str();
            while let Some(i) = rest.find(marker) {
                let after = rest[i + marker.len()..].trim_start();
                // Only literal paths (rustfmt may put them on the next line).
                let Some(after) = after.strip_prefix('"') else {
                    rest = &rest[i + marker.len()..];
                    continue;
                };
                let end = after.find('"').unwrap();
                let path = &after[..end];
                // The call's arguments, up to its closing parenthesis.
                let mut depth = 1;
                let args: String = after[end..]
                    .chars()
                    .take_while(|c| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth > 0
                    })
                    .collect();
                rest = &after[end..];
                let path = if nested {
                    format!("{path}/{{path}}")
                } else {
                    path.replace("{*", "{")
                };
                if path == "/api/{rest}" {
                    continue; // the 404 catch-all
                }
                let mut methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|m| args.contains(&format!("{m}(")) || args.contains(&format!(".{m}(")))
                    .collect();
                if nested || methods.is_empty() {
                    methods = vec!["get"];
                }
                for m in methods {
                    routes.insert((m.to_owned(), path.clone()));
                }
            }
        }
    }
    routes
}

#[test]
fn the_source_scan_finds_the_routes() {
    let routes = routes_in_source();
    for (m, p) in [
        ("get", "/api/messages/{thread_id}"),
        ("post", "/api/messages/send"),
        ("get", "/admin/login"),
        ("post", "/admin/login"),
        ("get", "/static/{path}"),
        ("get", "/metrics"),
        ("get", "/widget.js"),
        ("get", "/api/threads/{thread_id}/context"),
    ] {
        assert!(
            routes.contains(&(m.to_owned(), p.to_owned())),
            "{m} {p} in {routes:?}"
        );
    }
}

/// `schema` with its `$ref` followed and its `allOf` parts (a serde
/// `flatten`) merged into one object schema: their `properties` and
/// `required` joined, so that a key of one part is not "undescribed" for
/// another.
fn resolved(doc: &Value, schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return resolved(doc, &doc["components"]["schemas"][name]);
    }
    let Some(all) = schema["allOf"].as_array() else {
        return schema.clone();
    };
    let mut merged = json!({"type": "object", "properties": {}, "required": []});
    for part in all.iter().map(|p| resolved(doc, p)) {
        for (k, v) in part["properties"].as_object().into_iter().flatten() {
            merged["properties"][k] = v.clone();
        }
        for r in part["required"].as_array().into_iter().flatten() {
            merged["required"].as_array_mut().unwrap().push(r.clone());
        }
    }
    merged
}

/// A small JSON Schema check for what utoipa emits (`$ref`, `type` or
/// type lists, `properties`, `required`, `items`, `enum`, `oneOf`,
/// `allOf`): returns the first mismatch. Stricter than JSON Schema in one
/// way: a key the schema does not describe is a mismatch.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if schema.get("$ref").is_some() || schema.get("allOf").is_some() {
        return check(doc, &resolved(doc, schema), value, at);
    }
    if let Some(one) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        if !one.iter().any(|s| check(doc, s, value, at).is_ok()) {
            return Err(format!("{at}: {value} matches none of {one:?}"));
        }
        return Ok(());
    }
    if let Some(en) = schema["enum"].as_array()
        && !en.contains(value)
    {
        return Err(format!("{at}: {value} not in {en:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for req in schema["required"].as_array().into_iter().flatten() {
            let key = req.as_str().unwrap();
            if !obj.contains_key(key) {
                return Err(format!("{at}: `{key}` missing in {value}"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in obj {
                match props.get(k) {
                    Some(s) => check(doc, s, v, &format!("{at}.{k}"))?,
                    None => return Err(format!("{at}: `{k}` is not described")),
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks `body` against the documented JSON answer of `method path` for
/// `status`.
fn matches(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not described");
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: no JSON schema for status {status}"
    );
    if let Err(e) = check(doc, schema, body, &format!("{method} {path} {status}")) {
        panic!("{e}");
    }
}

#[tokio::test]
async fn every_route_is_described_and_answers_match_their_schemas() {
    let mut app =
        spawn(Opts::new(Backend::Sqlite).envs(&[("METRICS_TOKEN", "metrics-token-0123456789")]))
            .await;
    let visitor = app.visitor().await;
    let (status, doc) = visitor.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut missing = Vec::new();
    for (method, path) in routes_in_source() {
        if !doc["paths"][&path][&method].is_object() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes not described in src/http/openapi.rs: {missing:?}"
    );

    // Real answers against their schemas.
    let (s, b) = visitor.get("/api/session").await;
    matches(&doc, "get", "/api/session", s, &b);
    let (s, b) = visitor
        .post(
            "/api/messages/send",
            json!({"text": "hello", "type": "text", "client_id": "c-1"}),
        )
        .await;
    matches(&doc, "post", "/api/messages/send", s, &b);
    let thread = visitor.thread_id().await;
    let (s, b) = visitor.get(&format!("/api/messages/{thread}")).await;
    matches(&doc, "get", "/api/messages/{thread_id}", s, &b);
    let (s, b) = visitor.get("/api/messages/not-mine").await;
    assert_eq!(s, 403);
    matches(&doc, "get", "/api/messages/{thread_id}", s, &b);
    let (s, b) = visitor.get("/api/threads").await;
    matches(&doc, "get", "/api/threads", s, &b);
    let (s, b) = visitor
        .post("/api/messages/send", json!({"text": "", "type": "text"}))
        .await;
    matches(&doc, "post", "/api/messages/send", s, &b);

    let (s, b) = visitor.login("admin", "wrong").await;
    matches(&doc, "post", "/admin/login", s, &b);
    let (s, b) = visitor.login("admin", "admin123").await;
    matches(&doc, "post", "/admin/login", s, &b);
    let code = app.next_otp().await;
    let (s, b) = visitor
        .post("/admin/verify-otp", json!({"otp": code}))
        .await;
    matches(&doc, "post", "/admin/verify-otp", s, &b);
    let admin = visitor;
    let (s, b) = admin
        .post(
            "/api/messages/send",
            json!({"thread_id": thread, "text": "hi", "type": "text"}),
        )
        .await;
    matches(&doc, "post", "/api/messages/send", s, &b);
    let (s, b) = admin.get("/api/threads").await;
    assert_eq!(s, 200);
    assert!(!b["threads"].as_array().unwrap().is_empty());
    matches(&doc, "get", "/api/threads", s, &b);
    let tag = sohbet::chat::display_name_for(&thread).replace("Visitor ", "");
    for q in ["hello", tag.as_str()] {
        let (s, b) = admin.get(&format!("/api/search?q={q}")).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            b["results"].as_array().unwrap().len() + b["threads"].as_array().unwrap().len(),
            1,
            "{b}"
        );
        matches(&doc, "get", "/api/search", s, &b);
    }
    let (s, b) = admin.get("/api/search?q=").await;
    assert_eq!(s, 400);
    matches(&doc, "get", "/api/search", s, &b);
    let (s, b) = admin
        .post("/api/messages/clear", json!({"thread_id": thread}))
        .await;
    matches(&doc, "post", "/api/messages/clear", s, &b);
    let (s, b) = admin
        .post("/api/canned", json!({"name": "hi", "body": "Hello!"}))
        .await;
    matches(&doc, "post", "/api/canned", s, &b);
    let (s, b) = admin
        .post("/api/canned", json!({"name": "HI", "body": "Hello!"}))
        .await;
    assert_eq!(s, 409);
    matches(&doc, "post", "/api/canned", s, &b);
    let (s, b) = admin.get("/api/canned").await;
    matches(&doc, "get", "/api/canned", s, &b);
    let (s, b) = admin.post("/admin/logout", json!({})).await;
    matches(&doc, "post", "/admin/logout", s, &b);

    for path in ["/health", "/health/live", "/health/ready"] {
        let (s, b) = admin.get(path).await;
        matches(&doc, "get", path, s, &b);
    }
    let (s, b) = admin.get("/metrics").await;
    assert_eq!(s, 401);
    matches(&doc, "get", "/metrics", s, &b);
    app.finish().await;
}
