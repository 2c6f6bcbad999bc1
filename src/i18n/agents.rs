//! Strings of the support team (issue 22 item 1): the panel's "Team"
//! dialog (`static/js/admin_agents.js`: "My account" for every agent, the
//! agents list for owners) and the invite page. Chosen with the page's
//! language tag (`tr` | `en`); handed to the scripts in the config block.

/// The team's texts in one language.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStrings {
    /// Title of the dialog and name of the button that opens it.
    pub title: &'static str,
    /// Heading of the own-account form.
    pub my_account: &'static str,
    /// Heading of the team list (owners).
    pub agents: &'static str,
    /// Label: login name.
    pub username: &'static str,
    /// Label: shown name.
    pub display_name: &'static str,
    /// Label: role.
    pub role: &'static str,
    /// Role word: owner.
    pub owner: &'static str,
    /// Role word: agent.
    pub agent: &'static str,
    /// Label: current password.
    pub current_password: &'static str,
    /// Label: new password (own account) or password (new agent).
    pub new_password: &'static str,
    /// Hint under the new agent's password.
    pub password_hint: &'static str,
    /// Button: save.
    pub save: &'static str,
    /// Button: ask for a Telegram link code (issue 22 item 2).
    pub link_telegram: &'static str,
    /// Button: add an agent.
    pub add: &'static str,
    /// Button: rename.
    pub rename: &'static str,
    /// Button: disable.
    pub disable: &'static str,
    /// Button: enable.
    pub enable: &'static str,
    /// Button: close the dialog.
    pub close: &'static str,
    /// State: disabled.
    pub disabled: &'static str,
    /// State: invite not used yet.
    pub invited: &'static str,
    /// Shown once above a new invite URL.
    pub invite_once: &'static str,
    /// Toast: saved.
    pub saved: &'static str,
    /// Prompt of the rename button.
    pub rename_prompt: &'static str,
    /// Under the open thread's header: another agent has it open
    /// (issue 22 item 5); `{name}` is replaced.
    pub agent_viewing: &'static str,
    /// Under the open thread's header: another agent types in it; `{name}`
    /// is replaced.
    pub agent_typing: &'static str,
    /// Heading of the invite page.
    pub invite_title: &'static str,
    /// Text of the invite page; `{name}` is replaced.
    pub invite_text: &'static str,
    /// Button of the invite page.
    pub invite_submit: &'static str,
    /// After the invite page's password was set.
    pub invite_done: &'static str,
    /// The invite is unknown, used or expired.
    pub invite_dead: &'static str,
}

/// Turkish.
pub static TR: AgentStrings = AgentStrings {
    title: "Ekip",
    my_account: "Hesabım",
    link_telegram: "Telegram'ı bağla",
    agents: "Temsilciler",
    username: "Kullanıcı adı",
    display_name: "Görünen ad",
    role: "Rol",
    owner: "Sahip",
    agent: "Temsilci",
    current_password: "Mevcut parola",
    new_password: "Yeni parola",
    password_hint: "En az 12 karakter. Boş bırakılırsa bir kerelik davet bağlantısı oluşturulur.",
    save: "Kaydet",
    add: "Ekle",
    rename: "Yeniden adlandır",
    disable: "Devre dışı bırak",
    enable: "Etkinleştir",
    close: "Kapat",
    disabled: "devre dışı",
    invited: "davet bekliyor",
    invite_once: "Davet bağlantısı (yalnızca şimdi gösterilir, 24 saat geçerli, tek kullanımlık):",
    saved: "Kaydedildi",
    rename_prompt: "Yeni görünen ad",
    agent_viewing: "{name} görüntülüyor",
    agent_typing: "{name} yazıyor…",
    invite_title: "Parolanızı belirleyin",
    invite_text: "{name}, sohbet ekibine davet edildiniz. En az 12 karakterlik bir parola seçin.",
    invite_submit: "Parolayı kaydet",
    invite_done: "Parolanız kaydedildi. Şimdi giriş yapabilirsiniz.",
    invite_dead: "Bu davet bilinmiyor, kullanılmış ya da süresi dolmuş.",
};

/// English.
pub static EN: AgentStrings = AgentStrings {
    title: "Team",
    my_account: "My account",
    link_telegram: "Link Telegram",
    agents: "Agents",
    username: "Username",
    display_name: "Display name",
    role: "Role",
    owner: "Owner",
    agent: "Agent",
    current_password: "Current password",
    new_password: "New password",
    password_hint: "At least 12 characters. Leave empty to get a one-time invite link.",
    save: "Save",
    add: "Add",
    rename: "Rename",
    disable: "Disable",
    enable: "Enable",
    close: "Close",
    disabled: "disabled",
    invited: "invite pending",
    invite_once: "Invite link (shown only now, valid 24 hours, single use):",
    saved: "Saved",
    rename_prompt: "New display name",
    agent_viewing: "{name} is viewing",
    agent_typing: "{name} is typing…",
    invite_title: "Choose your password",
    invite_text: "{name}, you were invited to the sohbet team. Choose a password of at least 12 characters.",
    invite_submit: "Save password",
    invite_done: "Your password is saved. You can sign in now.",
    invite_dead: "This invite is unknown, used or expired.",
};

/// The team strings of a page language tag (`tr` → Turkish, else English).
pub fn pick(lang: &str) -> &'static AgentStrings {
    if lang == "tr" { &TR } else { &EN }
}
