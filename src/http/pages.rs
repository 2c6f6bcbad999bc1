//! Server-rendered pages (askama): the visitor chat `/`, the admin login
//! `/admin/login` and the panel `/admin`. Every page carries the CSRF token
//! in `<meta name="csrf-token">` and sets the visitor cookie when absent.

use askama::Template;
use axum::{
    extract::State,
    http::StatusCode,
    http::{HeaderMap, header},
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::cookie::SignedCookieJar;

use super::extract::Caller;
use crate::{AppState, domain::AgentId, http::error::AppError, i18n};

/// What every page needs.
pub struct PageCommon {
    /// The browser's CSRF token.
    pub csrf_token: String,
    /// `tr` | `en`.
    pub lang: &'static str,
    /// UI strings.
    pub t: &'static i18n::Strings,
    /// `/static/<digest>`: the prefix of every asset URL the page writes
    /// (cache busting as a whole, [`super::assets`]).
    pub static_base: String,
    /// The page's `#sohbet-config` JSON block, already escaped for a
    /// `<script>` element ([`config_json`]).
    pub config: String,
}

/// Limits the server enforces that the scripts check before sending (the
/// server checks again). Taken from the constants that enforce them.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Longest message text, characters after trimming
    /// ([`crate::chat::MAX_TEXT_CHARS`]).
    pub max_text_chars: usize,
    /// Largest image upload, bytes ([`crate::media::IMAGE_MAX_BYTES`]).
    pub image_max_bytes: u64,
    /// Largest audio upload, bytes ([`crate::media::AUDIO_MAX_BYTES`]).
    pub audio_max_bytes: u64,
    /// Messages per history page when none is asked for
    /// ([`crate::chat::PAGE_DEFAULT`]).
    pub page_size: i64,
    /// Largest history page the server gives ([`crate::chat::PAGE_MAX`]).
    pub page_max: i64,
    /// Longest search query, characters ([`crate::chat::search::QUERY_MAX_CHARS`]).
    pub search_max_chars: usize,
    /// Results per search page ([`crate::chat::search::LIMIT_DEFAULT`]).
    pub search_limit: i64,
}

/// Everything the scripts of one page need from the server, passed once as
/// `<script type="application/json" id="sohbet-config">` (read by
/// `static/js/config.js`). Sections a page does not use are left out.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    /// `tr` | `en`.
    pub lang: &'static str,
    /// The UI strings shared by every page.
    pub strings: &'static i18n::Strings,
    /// Server limits.
    pub limits: Limits,
    /// The widget / visitor-context strings (embed view, admin panel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget: Option<&'static i18n::widget::WidgetStrings>,
    /// The team strings (admin panel, invite page; issue 22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents: Option<&'static i18n::agents::AgentStrings>,
    /// The canned-reply strings (admin panel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canned: Option<&'static i18n::canned::CannedStrings>,
    /// The thread-tool strings (admin panel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<&'static i18n::tools::ToolStrings>,
    /// The search strings (admin panel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<&'static i18n::search::SearchStrings>,
    /// The email strings, only when `SMTP_URL` is set (issue 26): the
    /// visitor page then loads `transcript.js`, the panel `admin_email.js`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'static i18n::email::EmailStrings>,
    /// Keys of `strings` this page's scripts never read, left out of its
    /// block (the visitor page: its 60 KB transfer budget, issue 15).
    #[serde(skip)]
    pub unused_strings: &'static [&'static str],
}

/// The shared strings only the login page and the panel read: left out of
/// the visitor page (the unit test
/// `the_visitor_page_sends_every_string_its_scripts_read` checks that every
/// `S.<name>` its scripts read is still sent).
pub const NOT_ON_THE_VISITOR_PAGE: &[&str] = &[
    "username",
    "password",
    "signIn",
    "signingIn",
    "verify",
    "verifying",
    "errInvalidCredentials",
    "errInvalidOtp",
    "errOtpFormat",
    "noMessages",
    "logout",
    "sound",
    "soundOn",
    "soundOff",
    "visitorTyping",
    "visitorLabel",
];

impl PageConfig {
    fn new(lang: &'static str, strings: &'static i18n::Strings) -> Self {
        Self {
            lang,
            strings,
            limits: Limits {
                max_text_chars: crate::chat::MAX_TEXT_CHARS,
                image_max_bytes: crate::media::IMAGE_MAX_BYTES,
                audio_max_bytes: crate::media::AUDIO_MAX_BYTES,
                page_size: crate::chat::PAGE_DEFAULT,
                page_max: crate::chat::PAGE_MAX,
                search_max_chars: crate::chat::search::QUERY_MAX_CHARS,
                search_limit: crate::chat::search::LIMIT_DEFAULT,
            },
            widget: None,
            agents: None,
            canned: None,
            tools: None,
            search: None,
            email: None,
            unused_strings: &[],
        }
    }

    /// The JSON of the block ([`config_json`]), without `unused_strings`.
    fn to_json(&self) -> String {
        if self.unused_strings.is_empty() {
            return config_json(self);
        }
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(strings) = v.get_mut("strings").and_then(|s| s.as_object_mut()) {
            for k in self.unused_strings {
                strings.remove(*k);
            }
        }
        config_json(&v)
    }
}

/// `value` as JSON that is safe inside a `<script>` element: `<`, `>` and
/// `&` become `\\u003c`, `\\u003e`, `\\u0026` (the same string to
/// `JSON.parse`), so no `</script>` or `<!--` can end or change the element
/// whatever a string holds. The template prints it with `|safe`.
pub fn config_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The visitor chat.
#[derive(Template)]
#[template(path = "visitor.html")]
pub struct VisitorPage {
    /// Common fields.
    pub page: PageCommon,
    /// The visitor's thread id.
    pub thread_id: crate::domain::ThreadId,
    /// The visitor's display name.
    pub display_name: String,
    /// Set for the embed view `/embed` (issue 14), `None` for `/`.
    pub embed: Option<EmbedInfo>,
    /// The thread id was made for this request (no visitor cookie came):
    /// the thread does not exist yet, so nothing can be posted to it before
    /// this page's own first message, and the page skips its first
    /// catch-up (`data-new-thread`).
    pub new_thread: bool,
}

/// What the embed view adds to the visitor page (`http::embed`).
pub struct EmbedInfo {
    /// A visitor token for a fresh thread, used when the view has none stored.
    pub fresh_token: String,
    /// The host page's origin when it is one of `EMBED_ORIGINS`, else empty
    /// (then the view talks to no parent).
    pub parent_origin: String,
    /// `PRECHAT_FIELDS`, comma separated (empty: no pre-chat form).
    pub prechat: String,
    /// Telegram is not configured: with no admin online, replies may take a while.
    pub away_possible: bool,
    /// Email is configured (`SMTP_URL`): the away notice may ask for an
    /// address (issue 26: never one it cannot use).
    pub email: bool,
    /// The widget's strings.
    pub w: &'static i18n::widget::WidgetStrings,
}

/// The admin login (password, then code).
#[derive(Template)]
#[template(path = "admin_login.html")]
pub struct LoginPage {
    /// Common fields.
    pub page: PageCommon,
    /// The code goes to the server log, not Telegram: step 2 says so.
    pub code_in_log: bool,
}

/// The invite page (issue 22): the invited agent chooses its password.
#[derive(Template)]
#[template(path = "admin_invite.html")]
pub struct InvitePage {
    /// Common fields.
    pub page: PageCommon,
    /// Strings.
    pub a: &'static i18n::agents::AgentStrings,
    /// The invited agent's shown name; `None`: the invite is dead.
    pub name: Option<String>,
}

/// The admin panel.
#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    /// Common fields.
    pub page: PageCommon,
    /// The logged-in agent's shown name.
    pub admin_name: String,
    /// The logged-in agent's id (the panel tells its own answers from
    /// other agents'); 0 for none.
    pub agent_id: AgentId,
    /// Is it an owner (the team list is shown)?
    pub is_owner: bool,
    /// Strings of the team dialog (issue 22).
    pub a: &'static i18n::agents::AgentStrings,
    /// Strings of the visitor context box (issue 14).
    pub w: &'static i18n::widget::WidgetStrings,
    /// Strings of the canned replies (issue 13).
    pub c: &'static i18n::canned::CannedStrings,
    /// Strings of the thread tools (issue 13).
    pub tools: &'static i18n::tools::ToolStrings,
    /// Strings of the message search (issue 13).
    pub s: &'static i18n::search::SearchStrings,
    /// Strings of the operator's data: Erase, retention (issue 27).
    pub d: &'static i18n::data::DataStrings,
    /// The retention policy line (`RETENTION_DAYS`).
    pub retention: String,
}

fn common(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    extra: impl FnOnce(&mut PageConfig),
) -> PageCommon {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let (lang, t) = i18n::pick(accept);
    let csrf_token = state.auth.csrf_token(&caller.visitor_id);
    PageCommon::new(state, (lang, t), csrf_token, extra)
}

impl PageCommon {
    /// The common fields of a page in `lang` (from [`i18n::pick`]);
    /// `extra` adds the page's own sections to its config block.
    pub fn new(
        state: &AppState,
        (lang, t): (&'static str, &'static i18n::Strings),
        csrf_token: String,
        extra: impl FnOnce(&mut PageConfig),
    ) -> Self {
        // No time zone: the scripts show times in the browser's own
        // (issue 22 item 8); `APP_TIMEZONE` is for texts without a browser.
        let mut config = PageConfig::new(lang, t);
        config.email = state.mailer.as_ref().map(|_| i18n::email::pick(lang));
        extra(&mut config);
        Self {
            csrf_token,
            lang,
            t,
            static_base: format!("/static/{}", state.asset_version),
            config: config.to_json(),
        }
    }
}

fn render(state: &AppState, caller: &Caller, tpl: &impl Template) -> Response {
    match tpl.render() {
        Ok(html) => {
            let jar = SignedCookieJar::new(state.auth.cookie_key().clone());
            let jar = if caller.new_visitor {
                jar.add(state.cookies.build(
                    state.cookies.visitor,
                    caller.visitor_id.clone(),
                    Some(365 * 24 * 3600),
                ))
            } else {
                jar
            };
            (
                jar,
                [(header::CACHE_CONTROL, "private, no-cache")],
                Html(html),
            )
                .into_response()
        }
        Err(e) => AppError::internal(e).into_response(),
    }
}

/// `GET /`: the visitor page.
pub async fn visitor(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let page = VisitorPage {
        page: common(&state, &caller, &headers, |c| {
            c.unused_strings = NOT_ON_THE_VISITOR_PAGE;
        }),
        thread_id: caller.visitor_id.clone(),
        display_name: crate::chat::display_name_for(&caller.visitor_id),
        embed: None,
        new_thread: caller.new_visitor && !caller.by_token,
    };
    render(&state, &caller, &page)
}

/// `GET /admin/login`.
pub async fn login(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    if caller.admin.is_some() {
        return found("/admin");
    }
    render(
        &state,
        &caller,
        &LoginPage {
            page: common(&state, &caller, &headers, |_| {}),
            code_in_log: state.otp.in_server_log(),
        },
    )
}

/// `GET /admin`: the panel, or 302 to `/admin/login` without a session.
pub async fn admin(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    let Some(session) = caller.admin.clone() else {
        return found("/admin/login");
    };
    let page = common(&state, &caller, &headers, |c| {
        c.widget = Some(i18n::widget::pick(c.lang));
        c.canned = Some(i18n::canned::pick(c.lang));
        c.agents = Some(i18n::agents::pick(c.lang));
        c.tools = Some(i18n::tools::pick(c.lang));
        c.search = Some(i18n::search::pick(c.lang));
    });
    let page = AdminPage {
        w: i18n::widget::pick(page.lang),
        c: i18n::canned::pick(page.lang),
        tools: i18n::tools::pick(page.lang),
        s: i18n::search::pick(page.lang),
        a: i18n::agents::pick(page.lang),
        d: i18n::data::pick(page.lang),
        retention: i18n::data::pick(page.lang).retention(state.config.retention_days),
        page,
        is_owner: session.agent.is_owner(),
        agent_id: session.agent.id.unwrap_or(AgentId(0)),
        admin_name: session.agent.display_name,
    };
    render(&state, &caller, &page)
}

/// `GET /admin/invite/{token}`: the invite page (the form when the invite
/// is live, else a line saying it is not; 404 then). The token is not
/// shown back nor logged.
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    let name = state.auth.invite(&token).await.ok().map(|(_, name)| name);
    let dead = name.is_none();
    let page = common(&state, &caller, &headers, |c| {
        c.agents = Some(i18n::agents::pick(c.lang));
    });
    let page = InvitePage {
        a: i18n::agents::pick(page.lang),
        page,
        name,
    };
    let mut res = render(&state, &caller, &page);
    if dead {
        *res.status_mut() = StatusCode::NOT_FOUND;
    }
    res
}

/// 302 Found to `path` (the Flask app's redirect status).
fn found(path: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, path)]).into_response()
}

/// A short digest (12 hex digits) of every file under `dir` (names and
/// contents), so that `?v=` changes whenever a script or stylesheet does.
/// Falls back to the crate version when the folder cannot be read.
pub fn asset_version(dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    if walk(dir, &mut files).is_err() || files.is_empty() {
        return env!("CARGO_PKG_VERSION").to_owned();
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(h.finalize())[..12].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_cannot_close_its_script_element() {
        let hostile = serde_json::json!({ "s": "</script><script>alert(1)</script><!-- & \"q\"" });
        let out = config_json(&hostile);
        assert!(
            !out.contains('<') && !out.contains('>') && !out.contains('&'),
            "{out}"
        );
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, hostile);
    }

    /// Every `S.<name>` read in the `.js` files below `dir` (not in its
    /// folders named in `skip`): `(file, name)`.
    fn string_reads(dir: &str, skip: &[&str]) -> Vec<(String, String)> {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() && !skip.contains(&name.as_str()) {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "js")
                    && !skip.contains(&name.as_str())
                {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut reads = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (i, _) in text.match_indices("S.") {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let name: String = text[i + 2..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if !name.is_empty() {
                    reads.push((file.display().to_string(), name));
                }
            }
        }
        reads
    }

    /// Every `S.<name>` a script reads (`S` is `config.js`'s shared
    /// strings) is in the config block: a text left to the templates
    /// (`skip_serializing` in `i18n::Strings`) must not be one a script needs.
    #[test]
    fn config_block_has_every_string_the_scripts_read() {
        let config = PageConfig::new("en", &i18n::EN);
        let v: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        let reads = string_reads("static/js", &[]);
        assert!(
            reads.len() > 50,
            "only {} uses of S. found: the scan is broken",
            reads.len()
        );
        for (file, name) in reads {
            assert!(
                v["strings"].get(&name).is_some(),
                "{file} reads S.{name}, which the config block does not send"
            );
        }
    }

    /// The visitor page leaves out [`NOT_ON_THE_VISITOR_PAGE`]: none of them
    /// is read by its scripts (`visitor.js` and `lib/`; the panel's, the
    /// login page's and the widget's own scripts are not loaded there).
    #[test]
    fn the_visitor_page_sends_every_string_its_scripts_read() {
        let mut config = PageConfig::new("en", &i18n::EN);
        config.unused_strings = NOT_ON_THE_VISITOR_PAGE;
        let v: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        for k in NOT_ON_THE_VISITOR_PAGE {
            assert!(v["strings"].get(*k).is_none(), "{k} is still sent");
        }
        let mut reads = string_reads("static/js/lib", &[]);
        reads.extend(
            string_reads("static/js", &["lib", "admin"])
                .into_iter()
                .filter(|(f, _)| f.ends_with("/visitor.js")),
        );
        assert!(
            reads.len() > 20,
            "only {} uses of S. found: the scan is broken",
            reads.len()
        );
        for (file, name) in reads {
            assert!(
                v["strings"].get(&name).is_some(),
                "{file} reads S.{name}, which the visitor page does not send"
            );
        }
    }

    #[test]
    fn config_block_has_strings_and_limits_in_camel_case() {
        let config = PageConfig::new("en", &i18n::EN);
        let v: serde_json::Value = serde_json::from_str(&config_json(&config)).unwrap();
        assert_eq!(v["strings"]["errGeneric"], i18n::EN.err_generic);
        assert_eq!(v["limits"]["maxTextChars"], crate::chat::MAX_TEXT_CHARS);
        assert_eq!(v["limits"]["imageMaxBytes"], crate::media::IMAGE_MAX_BYTES);
        assert!(
            v.get("canned").is_none(),
            "admin sections only on the panel"
        );
        // Times are shown in the viewer's own zone (issue 22 item 8).
        assert!(v.get("timezone").is_none());
    }
}
