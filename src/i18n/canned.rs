//! Strings of the canned replies (issue 13) in the admin panel: the
//! dialog that manages them and the composer's `/` picker. Chosen with the
//! page's language tag (`tr` | `en`); handed to `static/js/admin_canned.js`
//! through `data-*` attributes.

/// The canned replies' texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CannedStrings {
    /// Title of the dialog and name of the button that opens it.
    pub title: &'static str,
    /// Explains the `/` picker, under the dialog's title.
    pub hint: &'static str,
    /// Label of the name field.
    pub name: &'static str,
    /// Label of the body field.
    pub body: &'static str,
    /// Button: save a new reply.
    pub add: &'static str,
    /// Button: save the reply being edited.
    pub save: &'static str,
    /// Button: stop editing.
    pub cancel: &'static str,
    /// Button: edit a reply.
    pub edit: &'static str,
    /// Button: delete a reply.
    pub delete: &'static str,
    /// Button: confirm the deletion (second press).
    pub confirm_delete: &'static str,
    /// Button: close the dialog.
    pub close: &'static str,
    /// No reply stored yet.
    pub empty: &'static str,
    /// Toast: stored.
    pub saved: &'static str,
    /// Toast: deleted.
    pub deleted: &'static str,
    /// Error: the name is taken (409 `CONFLICT`).
    pub name_taken: &'static str,
    /// Error: empty or too long (400 `VALIDATION_ERROR`).
    pub invalid: &'static str,
    /// Accessible name of the picker.
    pub picker: &'static str,
    /// Announced when the picker opens; `{n}` is replaced.
    pub picker_count: &'static str,
}

/// Turkish.
pub static TR: CannedStrings = CannedStrings {
    title: "Hazır yanıtlar",
    hint: "Yazı alanında / yazıp adını yazarak seçin; ↑ ↓ ile gezin, Enter ile ekleyin.",
    name: "Ad (kısayol)",
    body: "Metin",
    add: "Ekle",
    save: "Kaydet",
    cancel: "Vazgeç",
    edit: "Düzenle",
    delete: "Sil",
    confirm_delete: "Silinsin mi?",
    close: "Kapat",
    empty: "Henüz hazır yanıt yok.",
    saved: "Hazır yanıt kaydedildi",
    deleted: "Hazır yanıt silindi",
    name_taken: "Bu adla bir hazır yanıt zaten var.",
    invalid: "Ad 1–64, metin 1–4000 karakter olmalı.",
    picker: "Hazır yanıtlar",
    picker_count: "{n} hazır yanıt; ↑ ↓ ile seçin, Enter ile ekleyin, Esc ile kapatın",
};

/// English.
pub static EN: CannedStrings = CannedStrings {
    title: "Canned replies",
    hint: "In the composer, type / and a name to pick one; ↑ ↓ to move, Enter to insert.",
    name: "Name (shortcut)",
    body: "Text",
    add: "Add",
    save: "Save",
    cancel: "Cancel",
    edit: "Edit",
    delete: "Delete",
    confirm_delete: "Delete?",
    close: "Close",
    empty: "No canned replies yet.",
    saved: "Canned reply saved",
    deleted: "Canned reply deleted",
    name_taken: "A canned reply with this name already exists.",
    invalid: "The name must be 1–64 characters and the text 1–4000.",
    picker: "Canned replies",
    picker_count: "{n} canned replies; ↑ ↓ to choose, Enter to insert, Esc to close",
};

/// The canned strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static CannedStrings {
    if lang == "tr" { &TR } else { &EN }
}
