//! Strings of email in the pages (issue 26): the visitor's "Email me this
//! conversation" button and the panel's email section (an agent's own
//! address, the SMTP self-test, a dead email beside a thread). Sent only
//! when `SMTP_URL` is set, so pages without email carry none of it.

/// The email texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailStrings {
    /// The visitor's button (label and tooltip).
    pub transcript: &'static str,
    /// After the request was accepted.
    pub transcript_queued: &'static str,
    /// Panel: heading of the email section.
    pub heading: &'static str,
    /// Panel: the agent's own address field.
    pub my_email: &'static str,
    /// Panel: under the field: what it is for.
    pub my_email_hint: &'static str,
    /// Panel: the save button.
    pub save: &'static str,
    /// Panel: saved.
    pub saved: &'static str,
    /// Panel: runs the SMTP self-test.
    pub test: &'static str,
    /// Panel: mark beside a thread whose email was refused (`{error}`).
    pub dead: &'static str,
}

/// Turkish.
pub static TR: EmailStrings = EmailStrings {
    transcript: "Bu sohbeti bana e-postayla gönder",
    transcript_queued: "Sohbetin kaydı e-posta adresinize gönderilecek",
    heading: "E-posta",
    my_email: "E-posta adresim",
    my_email_hint: "Yanıtlanmamış ziyaretçi mesajları için (Telegram yoksa)",
    save: "Kaydet",
    saved: "Kaydedildi",
    test: "SMTP'yi sına",
    dead: "E-posta gönderilemedi: {error}",
};

/// English.
pub static EN: EmailStrings = EmailStrings {
    transcript: "Email me this conversation",
    transcript_queued: "The conversation will be sent to your email address",
    heading: "Email",
    my_email: "My email address",
    my_email_hint: "For visitor messages left unanswered (without Telegram)",
    save: "Save",
    saved: "Saved",
    test: "Test SMTP",
    dead: "Email refused: {error}",
};

/// The strings of `lang` (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static EmailStrings {
    if lang == "tr" { &TR } else { &EN }
}
