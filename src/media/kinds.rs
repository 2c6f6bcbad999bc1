//! What an upload is ([`Kind`], chosen by the endpoint), which formats are
//! accepted ([`Format`], sniffed from the bytes) and how stored files are
//! named (`<uuid>.<ext>`, [`parse_file_name`]).

use super::{AUDIO_MAX_BYTES, IMAGE_MAX_BYTES};
use crate::domain::MessageType;

/// What an upload is meant to be: the endpoint chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST /api/upload/image`: JPEG, PNG, GIF, WebP; ≤ 5 MiB.
    Image,
    /// `POST /api/upload/audio`: MP3, WAV, OGG, WebM, M4A/MP4, AAC; ≤ 10 MiB.
    Audio,
}

impl Kind {
    /// The size limit in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Kind::Image => IMAGE_MAX_BYTES,
            Kind::Audio => AUDIO_MAX_BYTES,
        }
    }

    /// The folder under `UPLOAD_DIR` and the URL segment under `/uploads/`:
    /// `images` or `audio`.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Image => "images",
            Kind::Audio => "audio",
        }
    }

    /// The kind whose folder is `folder`.
    pub fn from_folder(folder: &str) -> Option<Kind> {
        match folder {
            "images" => Some(Kind::Image),
            "audio" => Some(Kind::Audio),
            _ => None,
        }
    }

    /// The message `type` that carries this kind: `image` or `audio`.
    pub fn message_type(self) -> MessageType {
        match self {
            Kind::Image => MessageType::Image,
            Kind::Audio => MessageType::Audio,
        }
    }

    /// The kind of file a message of type `t` carries (`None` for text).
    pub fn of_message(t: MessageType) -> Option<Kind> {
        match t {
            MessageType::Text => None,
            MessageType::Image => Some(Kind::Image),
            MessageType::Audio => Some(Kind::Audio),
        }
    }
}

/// An accepted file format, as sniffed from the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG.
    Png,
    /// GIF 87a/89a.
    Gif,
    /// WebP (RIFF `WEBP`).
    Webp,
    /// MPEG audio layer III, with or without an ID3v2 tag.
    Mp3,
    /// RIFF `WAVE`.
    Wav,
    /// Ogg (Vorbis, Opus: what Firefox records).
    Ogg,
    /// WebM (Matroska with DocType `webm`: what Chrome records).
    Webm,
    /// MPEG-4 audio (`ftyp` box: M4A, or what Safari records).
    M4a,
    /// AAC in ADTS frames.
    Aac,
}

impl Format {
    /// Every format, images first.
    pub const ALL: [Format; 10] = [
        Format::Jpeg,
        Format::Png,
        Format::Gif,
        Format::Webp,
        Format::Mp3,
        Format::Wav,
        Format::Ogg,
        Format::Webm,
        Format::M4a,
        Format::Aac,
    ];

    /// Image or audio.
    pub fn kind(self) -> Kind {
        match self {
            Format::Jpeg | Format::Png | Format::Gif | Format::Webp => Kind::Image,
            _ => Kind::Audio,
        }
    }

    /// File extension of stored files (lower case, no dot).
    pub fn ext(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Mp3 => "mp3",
            Format::Wav => "wav",
            Format::Ogg => "ogg",
            Format::Webm => "webm",
            Format::M4a => "m4a",
            Format::Aac => "aac",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
            Format::Mp3 => "audio/mpeg",
            Format::Wav => "audio/wav",
            Format::Ogg => "audio/ogg",
            Format::Webm => "audio/webm",
            Format::M4a => "audio/mp4",
            Format::Aac => "audio/aac",
        }
    }
}

/// The format of a file named the way this server names stored files:
/// `<uuid>.<ext>` (lower-case hyphenated UUID, the extension of a format of
/// `kind`). Anything else (dotfiles, temporary files, other names) → `None`.
pub fn parse_file_name(kind: Kind, name: &str) -> Option<Format> {
    let (stem, ext) = name.split_once('.')?;
    let is_uuid = stem.len() == 36
        && stem
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'a'..='f' | '-'))
        && uuid::Uuid::try_parse(stem).is_ok();
    if !is_uuid {
        return None;
    }
    Format::ALL
        .into_iter()
        .find(|f| f.kind() == kind && f.ext() == ext)
}
