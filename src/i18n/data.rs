//! Strings of the operator's data in the panel (issue 27): the owner's
//! Erase button and its confirmation, the agents' Export button, and the retention policy line.
//! Chosen with the page's language tag (`tr` | `en`); printed by the
//! template (`templates/admin.html`), the script reads them from there.

/// The data texts in one language.
#[derive(Debug)]
pub struct DataStrings {
    /// Button: erase the open thread (owners only).
    pub erase: &'static str,
    /// Confirmation before erasing.
    pub erase_confirm: &'static str,
    /// Check box: also delete the thread's Telegram topic.
    pub erase_topic: &'static str,
    /// Cancel.
    pub cancel: &'static str,
    /// Shown after an erase.
    pub erased: &'static str,
    /// Button: download the open thread as a ZIP (agents).
    pub export: &'static str,
    /// Its tooltip.
    pub export_title: &'static str,
    /// The policy when `RETENTION_DAYS` is unset.
    pub retention_off: &'static str,
    /// The policy with `RETENTION_DAYS`; `{days}`: the number.
    pub retention_on: &'static str,
}

/// Turkish.
pub static TR: DataStrings = DataStrings {
    erase: "Sil",
    erase_confirm: "Bu ziyaretçinin tüm verisi silinsin mi? Konuşma, mesajlar, dosyalar ve \
                    ziyaretçi bilgileri kalıcı olarak silinir; geri alınamaz.",
    erase_topic: "Telegram konusunu da sil",
    cancel: "Vazgeç",
    erased: "Konuşma silindi",
    export: "Dışa aktar",
    export_title: "Konuşmayı, notları ve dosyaları bir ZIP dosyası olarak indir",
    retention_off: "Saklama: konuşmalar silinene kadar tutulur",
    retention_on: "Saklama: kapalı konuşmalar son etkinlikten {days} gün sonra silinir",
};

/// English.
pub static EN: DataStrings = DataStrings {
    erase: "Erase",
    erase_confirm: "Erase everything of this visitor? The conversation, its messages, files \
                    and visitor details are deleted for good; this cannot be undone.",
    erase_topic: "Also delete the Telegram topic",
    cancel: "Cancel",
    erased: "Conversation erased",
    export: "Export",
    export_title: "Download the conversation, its notes and files as a ZIP file",
    retention_off: "Retention: conversations are kept until erased",
    retention_on: "Retention: closed conversations are erased {days} days after their last activity",
};

/// The data strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static DataStrings {
    if lang == "tr" { &TR } else { &EN }
}

impl DataStrings {
    /// The policy line for `days` (`RETENTION_DAYS`, `None`: off).
    pub fn retention(&self, days: Option<u32>) -> String {
        match days {
            Some(d) => self.retention_on.replace("{days}", &d.to_string()),
            None => self.retention_off.to_owned(),
        }
    }
}
