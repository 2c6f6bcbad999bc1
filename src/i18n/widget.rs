//! Strings of the embeddable widget (issue 14): the embed view's close
//! button, pre-chat form and away notice, and the visitor context box of
//! the admin panel. Chosen with the page's language tag (`tr` | `en`).

/// The widget's texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStrings {
    /// Close button of the embed view.
    pub close: &'static str,
    /// Away notice: no admin online and Telegram not configured.
    pub away_text: &'static str,
    /// Placeholder of the away notice's email field.
    pub away_email: &'static str,
    /// Button that saves the away email.
    pub away_save: &'static str,
    /// Thanks after the away email was saved.
    pub away_saved: &'static str,
    /// Title of the pre-chat form.
    pub prechat_title: &'static str,
    /// Name field label.
    pub name: &'static str,
    /// Email field label.
    pub email: &'static str,
    /// Pre-chat form button.
    pub start: &'static str,
    /// Admin: title of the visitor context box.
    pub ctx_title: &'static str,
    /// Admin: page label.
    pub ctx_page: &'static str,
    /// Admin: referrer label.
    pub ctx_referrer: &'static str,
    /// Admin: browser label.
    pub ctx_browser: &'static str,
    /// Admin: language label.
    pub ctx_language: &'static str,
    /// Admin: time zone label.
    pub ctx_timezone: &'static str,
    /// Admin: the identity was verified by the site.
    pub ctx_verified: &'static str,
    /// Admin: the name was given without proof.
    pub ctx_unverified: &'static str,
    /// Admin: the visitor was told replies may take a while.
    pub ctx_away: &'static str,
    /// Admin: nothing reported yet.
    pub ctx_none: &'static str,
}

/// Turkish.
pub static TR: WidgetStrings = WidgetStrings {
    close: "Kapat",
    away_text: "Şu anda çevrimiçi değiliz; yanıt biraz gecikebilir.",
    away_email: "E-posta adresiniz (isteğe bağlı)",
    away_save: "Kaydet",
    away_saved: "Teşekkürler, size e-postayla da ulaşabiliriz.",
    prechat_title: "Başlamadan önce",
    name: "Adınız",
    email: "E-posta",
    start: "Sohbete başla",
    ctx_title: "Ziyaretçi",
    ctx_page: "Sayfa",
    ctx_referrer: "Geldiği yer",
    ctx_browser: "Tarayıcı",
    ctx_language: "Dil",
    ctx_timezone: "Saat dilimi",
    ctx_verified: "doğrulandı",
    ctx_unverified: "doğrulanmadı",
    ctx_away: "Yanıtın gecikebileceği söylendi",
    ctx_none: "Henüz bilgi yok",
};

/// English.
pub static EN: WidgetStrings = WidgetStrings {
    close: "Close",
    away_text: "We are not online right now; replies may take a while.",
    away_email: "Your email (optional)",
    away_save: "Save",
    away_saved: "Thanks, we can also reach you by email.",
    prechat_title: "Before we start",
    name: "Your name",
    email: "Email",
    start: "Start chatting",
    ctx_title: "Visitor",
    ctx_page: "Page",
    ctx_referrer: "Came from",
    ctx_browser: "Browser",
    ctx_language: "Language",
    ctx_timezone: "Time zone",
    ctx_verified: "verified",
    ctx_unverified: "unverified",
    ctx_away: "Told that replies may take a while",
    ctx_none: "Nothing reported yet",
};

/// The widget strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static WidgetStrings {
    if lang == "tr" { &TR } else { &EN }
}
