//! User-interface strings in Turkish and English, and the choice between them.
//!
//! Owns every human-readable text the pages (askama templates under
//! `templates/`) and their scripts (`static/js/`) show. The templates print
//! these strings directly; the scripts get them once, serialised (camelCase
//! keys) into the page's `#sohbet-config` JSON block
//! (`crate::http::pages::PageConfig`), so the scripts never carry text of
//! their own. Strings that contain `{time}` or `{n}` are filled in by the
//! scripts.
//!
//! This module must not touch requests, sessions or the database: the page
//! handlers pass it the raw `Accept-Language` header value and get back the
//! language tag and its strings ([`pick`]).

pub mod agents;
pub mod canned;
pub mod data;
pub mod email;
pub mod search;
pub mod tools;
pub mod widget;

/// Every text of the user interface, for one language.
///
/// One field per text; the field name says where it is used (`visitor_…` on
/// the visitor page `/`, `login_…` on `/admin/login`, `admin_…` on `/admin`,
/// the rest on several pages). Texts only the templates use are marked
/// `skip_serializing`: they stay out of the pages' JSON config block
/// (`http::pages`, whose test checks that every `S.<name>` the scripts
/// read is sent).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Strings {
    // ---- shared ----
    /// Product name shown in titles.
    #[serde(skip_serializing)] // askama only
    pub app_name: &'static str,
    /// Accessible name of the message list.
    #[serde(skip_serializing)] // askama only
    pub messages_label: &'static str,
    /// Label of the message text area.
    #[serde(skip_serializing)] // askama only
    pub message_label: &'static str,
    /// Send button.
    pub send: &'static str,
    /// Keyboard hint under the composer.
    #[serde(skip_serializing)] // askama only
    pub composer_hint: &'static str,
    /// Bubble state: waiting for the server's ack.
    pub status_pending: &'static str,
    /// Bubble state: stored by the server.
    pub status_sent: &'static str,
    /// Bubble state: not stored (error or timeout).
    pub status_failed: &'static str,
    /// Mark on a message whose text its agent edited after sending (issue 23).
    pub edited: &'static str,
    /// Button that resends a failed message.
    pub retry: &'static str,
    /// Banner while the first connection is being made.
    pub conn_connecting: &'static str,
    /// Banner while the connection is lost.
    pub conn_lost: &'static str,
    /// Short banner after the connection came back.
    pub conn_restored: &'static str,
    /// Shown while an older page of history loads.
    pub loading_older: &'static str,
    /// Shown when history could not be loaded.
    pub load_failed: &'static str,
    /// Button that scrolls down to messages that arrived below the view.
    #[serde(skip_serializing)] // askama only
    pub new_messages: &'static str,
    /// Alternative text of an image message.
    pub image_alt: &'static str,
    /// Title of the link that opens an image at full size.
    pub open_image: &'static str,
    /// Accessible name of an audio message player.
    pub audio_label: &'static str,
    /// Preview of an image message in lists.
    pub preview_image: &'static str,
    /// Preview of an audio message in lists.
    pub preview_audio: &'static str,
    /// Day separator: today.
    pub today: &'static str,
    /// Day separator: yesterday.
    pub yesterday: &'static str,
    /// Relative time under a minute.
    pub just_now: &'static str,
    /// Presence: online.
    pub online: &'static str,
    /// Presence: offline.
    pub offline: &'static str,
    /// Presence: offline with a time; `{time}` is replaced.
    pub last_seen: &'static str,
    /// Toast: any error without a better text.
    pub err_generic: &'static str,
    /// Toast: rate limited.
    pub err_rate_limited: &'static str,
    /// Toast: session or CSRF token no longer valid.
    pub err_session: &'static str,
    /// Toast: the message text is empty or too long.
    pub err_validation: &'static str,
    /// Error: the request did not reach the server.
    pub err_network: &'static str,
    /// Button that closes a toast or dialog.
    pub dismiss: &'static str,
    /// Cancel button of a dialog.
    pub cancel: &'static str,
    /// Sender label of the visitor's own messages (visitor page) and of the
    /// admin's own messages (admin panel).
    pub you: &'static str,

    // ---- attachments and voice messages (visitor page and admin panel) ----
    /// Button that opens the file picker (image or audio file).
    pub attach: &'static str,
    /// Button that starts recording a voice message.
    #[serde(skip_serializing)] // askama only
    pub record_voice: &'static str,
    /// Button that stops the recording and sends it.
    #[serde(skip_serializing)] // askama only
    pub record_stop: &'static str,
    /// Button that discards the recording.
    #[serde(skip_serializing)] // askama only
    pub record_cancel: &'static str,
    /// Shown next to the timer while recording.
    pub recording: &'static str,
    /// Title of an image thumbnail: opens the image viewer.
    pub view_image: &'static str,
    /// Button that removes the chosen file before sending.
    pub remove_attachment: &'static str,
    /// Placeholder of the text area while a file is attached.
    pub caption_placeholder: &'static str,
    /// Accessible name of an upload's progress bar.
    pub uploading: &'static str,
    /// Button that stops an upload.
    pub cancel_upload: &'static str,
    /// Toast after an upload was cancelled.
    pub upload_cancelled: &'static str,
    /// Button that discards a message that could not be sent.
    pub remove: &'static str,
    /// Link to an audio file the browser cannot play.
    pub download_audio: &'static str,
    /// Pre-check before uploading: image over 5 MiB; `{size}` is replaced.
    pub err_image_too_large: &'static str,
    /// Pre-check before uploading: audio over 10 MiB; `{size}` is replaced.
    pub err_audio_too_large: &'static str,
    /// Error `VALIDATION_ERROR` of an image upload: over 8192 px on a side.
    pub err_image_dimensions: &'static str,
    /// Error `FILE_TOO_LARGE` from the server.
    pub err_file_too_large: &'static str,
    /// Error `UNSUPPORTED_TYPE` (from the server, or a file that is plainly
    /// neither an image nor audio).
    pub err_unsupported_type: &'static str,
    /// Error `UPSTREAM_ERROR`: the file store (Cloudinary) did not answer.
    pub err_upstream: &'static str,
    /// Error `SERVER_BUSY` / `SERVICE_UNAVAILABLE`: the server cannot keep up
    /// or its database is down (a message is sent again by itself).
    pub err_busy: &'static str,
    /// Error `REQUEST_TIMEOUT`: an upload arrived too slowly.
    pub err_too_slow: &'static str,
    /// Error `INSUFFICIENT_STORAGE`: the upload quota is full.
    pub err_no_space: &'static str,
    /// The admin blocked this visitor (`BLOCKED`, issue 13): said politely.
    pub err_blocked: &'static str,
    /// Error `RATE_LIMITED` of an upload; `{n}` (seconds) is replaced.
    pub err_upload_rate_limited: &'static str,
    /// The browser or the user refused the microphone.
    pub err_mic_denied: &'static str,
    /// No microphone was found.
    pub err_mic_missing: &'static str,
    /// Recording stopped by an error.
    pub err_record_failed: &'static str,
    /// The recording was shorter than half a second.
    pub err_record_short: &'static str,

    // ---- visitor page ----
    /// Page title and header of the visitor page.
    #[serde(skip_serializing)] // askama only
    pub visitor_title: &'static str,
    /// Line under the header title.
    #[serde(skip_serializing)] // askama only
    pub visitor_subtitle: &'static str,
    /// Sender label of the admin's messages as the visitor sees them.
    pub support_name: &'static str,
    /// Typing indicator for the admin.
    #[serde(skip_serializing)] // askama only
    pub support_typing: &'static str,
    /// Greeting shown above an empty conversation.
    #[serde(skip_serializing)] // askama only
    pub welcome_title: &'static str,
    /// Text under the greeting.
    #[serde(skip_serializing)] // askama only
    pub welcome_text: &'static str,
    /// Placeholder of the visitor's text area.
    #[serde(skip_serializing)] // askama only
    pub visitor_placeholder: &'static str,

    // ---- admin login ----
    /// Page title and heading of the login page.
    #[serde(skip_serializing)] // askama only
    pub login_title: &'static str,
    /// Line under the login heading.
    #[serde(skip_serializing)] // askama only
    pub login_subtitle: &'static str,
    /// Label of the username field.
    pub username: &'static str,
    /// Label of the password field.
    pub password: &'static str,
    /// Button of step 1.
    pub sign_in: &'static str,
    /// Button text while step 1 runs.
    pub signing_in: &'static str,
    /// Heading of step 2.
    #[serde(skip_serializing)] // askama only
    pub otp_title: &'static str,
    /// Explanation of step 2 (the code went to Telegram).
    #[serde(skip_serializing)] // askama only
    pub otp_hint: &'static str,
    /// Explanation of step 2 when the code went to the server log
    /// (Telegram not configured).
    #[serde(skip_serializing)] // askama only
    pub otp_hint_log: &'static str,
    /// Label of the code field.
    #[serde(skip_serializing)] // askama only
    pub otp_label: &'static str,
    /// Button of step 2.
    pub verify: &'static str,
    /// Button text while step 2 runs.
    pub verifying: &'static str,
    /// Button back to step 1.
    pub back: &'static str,
    /// Error `INVALID_CREDENTIALS`.
    pub err_invalid_credentials: &'static str,
    /// Error `INVALID_OTP`.
    pub err_invalid_otp: &'static str,
    /// Error: the code field does not hold six digits.
    pub err_otp_format: &'static str,

    // ---- admin panel ----
    /// Page title and heading of the thread list.
    #[serde(skip_serializing)] // askama only
    pub admin_title: &'static str,
    /// Label of the thread filter field.
    #[serde(skip_serializing)] // askama only
    pub search_threads: &'static str,
    /// Empty thread list.
    #[serde(skip_serializing)] // askama only
    pub no_threads: &'static str,
    /// Heading of the empty conversation pane.
    #[serde(skip_serializing)] // askama only
    pub select_thread: &'static str,
    /// Text of the empty conversation pane.
    #[serde(skip_serializing)] // askama only
    pub select_thread_hint: &'static str,
    /// Empty conversation.
    pub no_messages: &'static str,
    /// Placeholder of the admin's text area.
    #[serde(skip_serializing)] // askama only
    pub admin_placeholder: &'static str,
    /// The composer's toggle that writes an internal note (issue 22).
    #[serde(skip_serializing)] // askama only (the panel reads it from the page)
    pub note_toggle: &'static str,
    /// Shown over the composer while it writes an internal note.
    #[serde(skip_serializing)] // askama only
    pub note_banner: &'static str,
    /// Sender label of an internal note in the panel.
    #[serde(skip_serializing)] // askama only
    pub note_label: &'static str,
    /// Button that clears a thread.
    pub clear: &'static str,
    /// Question before clearing a thread.
    #[serde(skip_serializing)] // askama only
    pub clear_confirm: &'static str,
    /// Toast after a thread was cleared.
    pub cleared: &'static str,
    /// Log-out button.
    pub logout: &'static str,
    /// Label of the notification-sound toggle.
    pub sound: &'static str,
    /// Sound toggle state: on.
    pub sound_on: &'static str,
    /// Sound toggle state: off.
    pub sound_off: &'static str,
    /// Mobile back button from a conversation to the list.
    #[serde(skip_serializing)] // askama only
    pub back_to_list: &'static str,
    /// Typing indicator for a visitor, in the list and the header.
    pub visitor_typing: &'static str,
    /// Sender label of a visitor's messages in the admin panel.
    pub visitor_label: &'static str,
    /// Unread badge for screen readers; `{n}` is replaced.
    pub unread: &'static str,
    /// Prefix before the admin's name.
    #[serde(skip_serializing)] // askama only
    pub signed_in_as: &'static str,
}

/// Turkish strings.
pub static TR: Strings = Strings {
    app_name: "Sohbet",
    messages_label: "Mesajlar",
    message_label: "Mesaj",
    send: "Gönder",
    composer_hint: "Göndermek için Enter, yeni satır için Shift+Enter",
    status_pending: "Gönderiliyor…",
    status_sent: "Gönderildi",
    status_failed: "Gönderilemedi",
    edited: "düzenlendi",
    retry: "Tekrar dene",
    conn_connecting: "Bağlanıyor…",
    conn_lost: "Bağlantı koptu, yeniden bağlanılıyor…",
    conn_restored: "Yeniden bağlandı",
    loading_older: "Önceki mesajlar yükleniyor…",
    load_failed: "Mesajlar yüklenemedi.",
    new_messages: "Yeni mesajlar",
    image_alt: "Görsel",
    open_image: "Görseli yeni sekmede aç",
    audio_label: "Sesli mesaj",
    preview_image: "📷 Görsel",
    preview_audio: "🎤 Ses",
    today: "Bugün",
    yesterday: "Dün",
    just_now: "şimdi",
    online: "Çevrimiçi",
    offline: "Çevrimdışı",
    last_seen: "Son görülme {time}",
    err_generic: "Bir sorun oluştu. Lütfen tekrar deneyin.",
    err_rate_limited: "Çok hızlı gönderiyorsunuz. Lütfen biraz bekleyin.",
    err_session: "Oturumunuz sona erdi. Lütfen sayfayı yenileyin.",
    err_validation: "Mesaj boş olamaz ve en fazla 4000 karakter olabilir.",
    err_network: "Sunucuya ulaşılamadı. Bağlantınızı kontrol edin.",
    dismiss: "Kapat",
    cancel: "Vazgeç",
    you: "Siz",

    attach: "Görsel veya ses dosyası ekle",
    record_voice: "Sesli mesaj kaydet",
    record_stop: "Kaydı bitir ve gönder",
    record_cancel: "Kaydı iptal et",
    recording: "Kaydediliyor",
    view_image: "Görseli tam boyutta göster",
    remove_attachment: "Eki kaldır",
    caption_placeholder: "Açıklama ekleyin (isteğe bağlı)…",
    uploading: "Yükleniyor",
    cancel_upload: "Yüklemeyi iptal et",
    upload_cancelled: "Yükleme iptal edildi",
    remove: "Kaldır",
    download_audio: "Ses dosyasını indir",
    err_image_too_large: "Bu görsel {size}. Görseller en fazla 5 MB olabilir.",
    err_audio_too_large: "Bu ses dosyası {size}. Ses dosyaları en fazla 10 MB olabilir.",
    err_image_dimensions: "Bu görselin boyutları çok büyük: bir kenarı en fazla 8192 piksel olabilir.",
    err_file_too_large: "Dosya çok büyük. Görseller en fazla 5 MB, ses dosyaları en fazla 10 MB olabilir.",
    err_unsupported_type: "Bu dosya türü desteklenmiyor. JPEG, PNG, GIF veya WebP görsel ya da MP3, WAV, OGG, WebM veya M4A ses dosyası gönderin.",
    err_upstream: "Dosya deposuna şu anda ulaşılamıyor. Lütfen birazdan tekrar deneyin.",
    err_busy: "Sunucu şu anda çok yoğun. Lütfen birazdan tekrar deneyin.",
    err_too_slow: "Dosya çok yavaş yüklendi ve durduruldu. Lütfen tekrar deneyin.",
    err_no_space: "Sunucuda şu anda bu dosya için yer yok. Lütfen daha sonra tekrar deneyin.",
    err_blocked: "Üzgünüz, bu sohbette artık mesaj gönderemezsiniz. İlginiz için teşekkür ederiz.",
    err_upload_rate_limited: "Çok sık dosya gönderiyorsunuz. {n} saniye sonra tekrar deneyin.",
    err_mic_denied: "Mikrofon izni verilmedi. Ses kaydı için tarayıcınızın site ayarlarından mikrofona izin verin.",
    err_mic_missing: "Mikrofon bulunamadı.",
    err_record_failed: "Ses kaydı yapılamadı. Lütfen tekrar deneyin.",
    err_record_short: "Kayıt çok kısa.",

    visitor_title: "Canlı destek",
    visitor_subtitle: "Genellikle birkaç dakika içinde yanıtlıyoruz",
    support_name: "Destek",
    support_typing: "Destek yazıyor…",
    welcome_title: "Merhaba 👋",
    welcome_text: "Aklınıza takılan her şeyi sorabilirsiniz. Yardım etmek için buradayız.",
    visitor_placeholder: "Bir mesaj yazın…",

    login_title: "Yönetici girişi",
    login_subtitle: "Ziyaretçilerinizi yanıtlamak için giriş yapın.",
    username: "Kullanıcı adı",
    password: "Şifre",
    sign_in: "Giriş yap",
    signing_in: "Giriş yapılıyor…",
    otp_title: "Doğrulama kodu",
    otp_hint: "Telegram'a gönderilen 6 haneli kodu girin.",
    otp_hint_log: "Sunucu günlüğüne yazılan 6 haneli kodu girin (Telegram ayarlı değil).",
    otp_label: "6 haneli kod",
    verify: "Doğrula",
    verifying: "Doğrulanıyor…",
    back: "Geri",
    err_invalid_credentials: "Kullanıcı adı veya şifre hatalı.",
    err_invalid_otp: "Kod hatalı ya da süresi dolmuş.",
    err_otp_format: "Lütfen 6 haneli kodu girin.",

    admin_title: "Sohbetler",
    search_threads: "Sohbetlerde ara",
    no_threads: "Henüz sohbet yok. Yeni sohbetler burada anında görünür.",
    select_thread: "Bir sohbet seçin",
    select_thread_hint: "Okumak ve yanıtlamak için listeden bir sohbet seçin.",
    no_messages: "Henüz mesaj yok.",
    admin_placeholder: "Bir yanıt yazın…",
    note_toggle: "Not",
    note_banner: "İç not — ziyaretçi bunu görmez",
    note_label: "İç not",
    clear: "Temizle",
    clear_confirm: "Bu sohbetteki tüm mesajlar silinsin mi? Bu işlem geri alınamaz.",
    cleared: "Sohbet temizlendi",
    logout: "Çıkış yap",
    sound: "Bildirim sesi",
    sound_on: "Ses açık",
    sound_off: "Ses kapalı",
    back_to_list: "Sohbetlere dön",
    visitor_typing: "yazıyor…",
    visitor_label: "Ziyaretçi",
    unread: "{n} okunmamış",
    signed_in_as: "Giriş yapan",
};

/// English strings (the default).
pub static EN: Strings = Strings {
    app_name: "Sohbet",
    messages_label: "Messages",
    message_label: "Message",
    send: "Send",
    composer_hint: "Enter to send, Shift+Enter for a new line",
    status_pending: "Sending…",
    status_sent: "Sent",
    status_failed: "Not sent",
    edited: "edited",
    retry: "Retry",
    conn_connecting: "Connecting…",
    conn_lost: "Connection lost, reconnecting…",
    conn_restored: "Reconnected",
    loading_older: "Loading earlier messages…",
    load_failed: "Could not load messages.",
    new_messages: "New messages",
    image_alt: "Image",
    open_image: "Open image in a new tab",
    audio_label: "Voice message",
    preview_image: "📷 Image",
    preview_audio: "🎤 Audio",
    today: "Today",
    yesterday: "Yesterday",
    just_now: "now",
    online: "Online",
    offline: "Offline",
    last_seen: "Last seen {time}",
    err_generic: "Something went wrong. Please try again.",
    err_rate_limited: "You are sending too fast. Please wait a moment.",
    err_session: "Your session has expired. Please reload the page.",
    err_validation: "A message must not be empty and can have at most 4000 characters.",
    err_network: "Could not reach the server. Check your connection.",
    dismiss: "Dismiss",
    cancel: "Cancel",
    you: "You",

    attach: "Attach an image or audio file",
    record_voice: "Record a voice message",
    record_stop: "Stop and send",
    record_cancel: "Cancel recording",
    recording: "Recording",
    view_image: "Show the image full size",
    remove_attachment: "Remove attachment",
    caption_placeholder: "Add a caption (optional)…",
    uploading: "Uploading",
    cancel_upload: "Cancel upload",
    upload_cancelled: "Upload cancelled",
    remove: "Remove",
    download_audio: "Download the audio file",
    err_image_too_large: "This image is {size}. Images can be at most 5 MB.",
    err_audio_too_large: "This audio file is {size}. Audio files can be at most 10 MB.",
    err_image_dimensions: "This image's dimensions are too large: at most 8192 pixels a side.",
    err_file_too_large: "The file is too large. Images can be at most 5 MB, audio files 10 MB.",
    err_unsupported_type: "This file type is not supported. Send a JPEG, PNG, GIF or WebP image, or an MP3, WAV, OGG, WebM or M4A audio file.",
    err_upstream: "File storage cannot be reached right now. Please try again shortly.",
    err_busy: "The server is very busy right now. Please try again in a moment.",
    err_too_slow: "The upload was too slow and was stopped. Please try again.",
    err_no_space: "The server has no room for this file right now. Please try again later.",
    err_blocked: "Sorry, you can no longer send messages in this conversation. Thank you for your understanding.",
    err_upload_rate_limited: "You are sending files too often. Try again in {n} seconds.",
    err_mic_denied: "Microphone access was not allowed. To record, allow the microphone in your browser's site settings.",
    err_mic_missing: "No microphone was found.",
    err_record_failed: "Recording failed. Please try again.",
    err_record_short: "The recording is too short.",

    visitor_title: "Live chat",
    visitor_subtitle: "We usually reply within a few minutes",
    support_name: "Support",
    support_typing: "Support is typing…",
    welcome_title: "Hi there 👋",
    welcome_text: "Ask us anything. We are here to help.",
    visitor_placeholder: "Write a message…",

    login_title: "Admin sign-in",
    login_subtitle: "Sign in to answer your visitors.",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    signing_in: "Signing in…",
    otp_title: "Verification code",
    otp_hint: "Enter the 6-digit code sent to Telegram.",
    otp_hint_log: "Enter the 6-digit code written to the server log (Telegram is not set up).",
    otp_label: "6-digit code",
    verify: "Verify",
    verifying: "Verifying…",
    back: "Back",
    err_invalid_credentials: "Wrong username or password.",
    err_invalid_otp: "The code is wrong or has expired.",
    err_otp_format: "Please enter the 6-digit code.",

    admin_title: "Conversations",
    search_threads: "Search conversations",
    no_threads: "No conversations yet. New chats show up here live.",
    select_thread: "Select a conversation",
    select_thread_hint: "Pick a conversation from the list to read and reply.",
    no_messages: "No messages yet.",
    admin_placeholder: "Write a reply…",
    note_toggle: "Note",
    note_banner: "Internal note — the visitor does not see this",
    note_label: "Internal note",
    clear: "Clear",
    clear_confirm: "Delete all messages of this conversation? This cannot be undone.",
    cleared: "Conversation cleared",
    logout: "Log out",
    sound: "Notification sound",
    sound_on: "Sound on",
    sound_off: "Sound off",
    back_to_list: "Back to conversations",
    visitor_typing: "typing…",
    visitor_label: "Visitor",
    unread: "{n} unread",
    signed_in_as: "Signed in as",
};

/// Chooses the UI language from an `Accept-Language` header value
/// (RFC 9110 §12.5.4): `"tr"` when Turkish is preferred over English,
/// otherwise `"en"` (also when the header is missing, empty or malformed).
///
/// Each comma-separated entry is a language range with an optional
/// `;q=` weight (0..=1, default 1); entries with weight 0 or an unreadable
/// weight are ignored. Only the primary subtag counts (`tr-TR` is `tr`).
/// Turkish wins when its best weight is higher than English's, or equal and
/// listed first; a wildcard `*` stands for English.
pub fn pick(accept_language: Option<&str>) -> (&'static str, &'static Strings) {
    if prefers_turkish(accept_language.unwrap_or("")) {
        ("tr", &TR)
    } else {
        ("en", &EN)
    }
}

/// Whether the header ranks Turkish above English (see [`pick`]).
fn prefers_turkish(header: &str) -> bool {
    // (weight, position of first entry with that weight) per language.
    let mut best_tr: Option<(u16, usize)> = None;
    let mut best_en: Option<(u16, usize)> = None;
    for (pos, entry) in header.split(',').enumerate() {
        let mut parts = entry.split(';');
        let range = parts.next().unwrap_or("").trim();
        let primary = range.split('-').next().unwrap_or("");
        let slot = if primary.eq_ignore_ascii_case("tr") {
            &mut best_tr
        } else if primary.eq_ignore_ascii_case("en") || primary == "*" {
            &mut best_en
        } else {
            continue;
        };
        let mut weight = Some(1000);
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            if key.trim().eq_ignore_ascii_case("q") {
                weight = parse_qvalue(value.trim());
            }
        }
        let Some(weight) = weight.filter(|w| *w > 0) else {
            continue;
        };
        if slot.is_none_or(|(w, _)| weight > w) {
            *slot = Some((weight, pos));
        }
    }
    match (best_tr, best_en) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some((wt, pt)), Some((we, pe))) => wt > we || (wt == we && pt < pe),
    }
}

/// Parses an RFC 9110 `qvalue` (`0`, `0.5`, `1.000`, at most three decimals)
/// into thousandths; `None` when malformed or above 1.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if int.len() != 1 || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let total = whole + thousandths;
    (total <= 1000).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(header: Option<&str>) -> &'static str {
        pick(header).0
    }

    #[test]
    fn missing_or_empty_header_is_english() {
        assert_eq!(lang(None), "en");
        assert_eq!(lang(Some("")), "en");
        assert_eq!(lang(Some("  ,; ,")), "en");
    }

    #[test]
    fn turkish_browser_gets_turkish() {
        assert_eq!(lang(Some("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7")), "tr");
        assert_eq!(lang(Some("tr")), "tr");
        assert_eq!(lang(Some("TR-tr")), "tr");
    }

    #[test]
    fn english_browser_gets_english() {
        assert_eq!(lang(Some("en-US,en;q=0.9,tr;q=0.8")), "en");
        assert_eq!(lang(Some("en-GB")), "en");
    }

    #[test]
    fn q_values_outrank_order() {
        assert_eq!(lang(Some("en;q=0.5, tr;q=0.8")), "tr");
        assert_eq!(lang(Some("tr;q=0.3, en;q=0.31")), "en");
        assert_eq!(lang(Some("en;q=0.500,tr;q=0.501")), "tr");
        assert_eq!(lang(Some("tr ; Q = 0.9 , en;q=0.1")), "tr");
    }

    #[test]
    fn equal_weights_go_to_the_first_listed() {
        assert_eq!(lang(Some("tr,en")), "tr");
        assert_eq!(lang(Some("en,tr")), "en");
        assert_eq!(lang(Some("en;q=0.8,tr;q=0.8")), "en");
    }

    #[test]
    fn other_languages_and_wildcard() {
        assert_eq!(lang(Some("de-DE,de;q=0.9,tr;q=0.5")), "tr");
        assert_eq!(lang(Some("de,fr")), "en");
        assert_eq!(lang(Some("*")), "en");
        assert_eq!(lang(Some("tr;q=0.5,*;q=0.8")), "en");
        assert_eq!(lang(Some("tr,*;q=0.1")), "tr");
    }

    #[test]
    fn zero_or_malformed_weights_are_ignored() {
        assert_eq!(lang(Some("tr;q=0")), "en");
        assert_eq!(lang(Some("tr;q=0.000,en;q=0.1")), "en");
        assert_eq!(lang(Some("tr;q=2")), "en");
        assert_eq!(lang(Some("tr;q=abc")), "en");
        assert_eq!(lang(Some("tr;q=0.1234")), "en");
        assert_eq!(lang(Some("tr;q=1.5")), "en");
        assert_eq!(lang(Some("tr;q=")), "en");
        assert_eq!(lang(Some("en;q=bad,tr;q=0.2")), "tr");
    }

    #[test]
    fn primary_subtag_must_match_exactly() {
        assert_eq!(lang(Some("tru,trk")), "en");
        assert_eq!(lang(Some("eng,tr;q=0.1")), "tr");
    }

    #[test]
    fn strings_match_the_language() {
        assert_eq!(pick(Some("tr")).1.send, "Gönder");
        assert_eq!(pick(None).1.send, "Send");
    }

    #[test]
    fn placeholders_match_between_languages() {
        let pairs = [
            (TR.last_seen, EN.last_seen, "{time}"),
            (TR.unread, EN.unread, "{n}"),
            (TR.err_image_too_large, EN.err_image_too_large, "{size}"),
            (TR.err_audio_too_large, EN.err_audio_too_large, "{size}"),
            (
                TR.err_upload_rate_limited,
                EN.err_upload_rate_limited,
                "{n}",
            ),
        ];
        for (tr, en, placeholder) in pairs {
            assert!(tr.contains(placeholder), "{tr}");
            assert!(en.contains(placeholder), "{en}");
        }
    }

    #[test]
    fn qvalue_parser() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.0"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue(".5"), None);
        assert_eq!(parse_qvalue("-0.5"), None);
    }
}
