//! Judging a file's format from its first bytes (magic numbers), with the
//! `infer` crate's matchers and two small checks of our own where `infer`
//! is silent (marked below). Names and declared content types are never
//! looked at.

use super::{Format, Kind, MediaError};

/// The accepted format of `kind` that `head` (the file's first bytes, up to
/// [`super::HEAD_LEN`]) starts with.
///
/// Images: JPEG, PNG, GIF, WebP. Audio: WAV, Ogg, WebM, MPEG-4 (`ftyp`),
/// MP3 (ID3v2 tag or a layer III frame header), AAC (ADTS).
///
/// # Errors
/// [`MediaError::Unsupported`] for anything else: SVG, HTML, text, video of
/// another kind, an empty or truncated head.
pub fn sniff(kind: Kind, head: &[u8]) -> Result<Format, MediaError> {
    let found = match kind {
        Kind::Image => image(head),
        Kind::Audio => audio(head),
    };
    found.ok_or_else(|| {
        MediaError::Unsupported(
            match kind {
                Kind::Image => "Only JPEG, PNG, GIF or WebP images are accepted",
                Kind::Audio => "Only MP3, WAV, OGG, WebM, M4A or AAC audio is accepted",
            }
            .into(),
        )
    })
}

fn image(b: &[u8]) -> Option<Format> {
    if infer::image::is_jpeg(b) {
        Some(Format::Jpeg)
    } else if infer::image::is_png(b) {
        Some(Format::Png)
    } else if infer::image::is_gif(b) {
        Some(Format::Gif)
    // Own addition: `infer::image::is_webp` looks only at bytes 8..12
    // (`WEBP`); a WebP file is a RIFF container, so require `RIFF` too.
    } else if b.starts_with(b"RIFF") && infer::image::is_webp(b) {
        Some(Format::Webp)
    } else {
        None
    }
}

fn audio(b: &[u8]) -> Option<Format> {
    if infer::audio::is_wav(b) {
        Some(Format::Wav)
    } else if infer::audio::is_ogg(b) {
        Some(Format::Ogg)
    } else if infer::video::is_webm(b) {
        // EBML header with DocType `webm` in the first 256 bytes: what
        // MediaRecorder writes for `audio/webm;codecs=opus`.
        Some(Format::Webm)
    } else if infer::audio::is_m4a(b) || infer::video::is_mp4(b) {
        // `ftyp M4A ` is an .m4a file; Safari's recorder writes `ftyp iso5`
        // / `mp42` (infer calls those video/mp4). Served as audio/mp4.
        Some(Format::M4a)
    } else if infer::audio::is_aac(b) {
        Some(Format::Aac)
    } else if infer::audio::is_mp3(b) || is_mpeg_layer3_frame(b) {
        Some(Format::Mp3)
    } else {
        None
    }
}

/// Own check, where `infer` is silent: `infer::audio::is_mp3` knows an ID3v2
/// tag and the sync bytes `FF FB`, `FF F3`, `FF F2` only, so an MP3 without
/// ID3 tag that starts with a CRC-protected MPEG-1 frame (`FF FA`) or an
/// MPEG-2.5 frame (`FF E2`/`FF E3`) would be refused. This accepts any valid
/// MPEG audio layer III frame header (ISO/IEC 11172-3 § 2.4.1.3): 11 sync
/// bits, a defined version, layer III, a bit-rate index other than
/// free (0) or bad (15), a defined sampling rate.
fn is_mpeg_layer3_frame(b: &[u8]) -> bool {
    let [b0, b1, b2, ..] = *b else {
        return false;
    };
    let version = (b1 >> 3) & 0b11;
    let layer = (b1 >> 1) & 0b11;
    let bitrate = b2 >> 4;
    let rate = (b2 >> 2) & 0b11;
    b0 == 0xFF
        && b1 & 0xE0 == 0xE0
        && version != 0b01
        && layer == 0b01
        && bitrate != 0
        && bitrate != 0b1111
        && rate != 0b11
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webm_head() -> Vec<u8> {
        let mut v = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        v.extend_from_slice(b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02");
        v.resize(300, 0);
        v
    }

    #[test]
    fn images_by_magic_number() {
        let cases: [(&[u8], Format); 4] = [
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Format::Jpeg),
            (b"\x89PNG\r\n\x1a\n", Format::Png),
            (b"GIF89a\x01\x00\x01\x00", Format::Gif),
            (b"RIFF\x1a\x00\x00\x00WEBPVP8L", Format::Webp),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(Kind::Image, bytes).unwrap(), want);
            assert!(sniff(Kind::Audio, bytes).is_err(), "{want:?} is no audio");
        }
    }

    #[test]
    fn audio_by_magic_number() {
        let webm = webm_head();
        let cases: [(&[u8], Format); 9] = [
            (b"RIFF\x24\x00\x00\x00WAVEfmt ", Format::Wav),
            (b"OggS\x00\x02\x00\x00\x00\x00", Format::Ogg),
            (&webm, Format::Webm),
            (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", Format::M4a),
            (b"\x00\x00\x00\x1cftypiso5\x00\x00\x02\x00", Format::M4a),
            (b"\xFF\xF1\x50\x80\x02\x1f\xfc", Format::Aac),
            (b"ID3\x04\x00\x00\x00\x00\x00\x00", Format::Mp3),
            (b"\xFF\xFB\x90\x64\x00", Format::Mp3),
            (b"\xFF\xFA\x90\x64\x00", Format::Mp3),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(Kind::Audio, bytes).unwrap(), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn mpeg_frames_need_layer_three_and_valid_rates() {
        assert!(is_mpeg_layer3_frame(b"\xFF\xE3\x40\x00")); // MPEG-2.5, 8 kbit/s
        assert!(!is_mpeg_layer3_frame(b"\xFF\xFD\x90\x00")); // layer II
        assert!(!is_mpeg_layer3_frame(b"\xFF\xFB\xF0\x00")); // bad bit rate
        assert!(!is_mpeg_layer3_frame(b"\xFF\xFB\x9C\x00")); // reserved rate
        assert!(!is_mpeg_layer3_frame(b"\xFF\xEB\x90\x00")); // reserved version
        assert!(!is_mpeg_layer3_frame(b"\xFF\xFB"));
    }

    #[test]
    fn markup_text_and_empty_are_refused() {
        for bytes in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"<!DOCTYPE html><html><script>alert(1)</script>",
            b"just some text",
            b"",
            b"RIFF\x00\x00\x00\x00AVI LIST",
            b"\x1A\x45\xDF\xA3 short matroska",
        ] {
            assert!(matches!(
                sniff(Kind::Image, bytes),
                Err(MediaError::Unsupported(_))
            ));
            assert!(sniff(Kind::Audio, bytes).is_err());
        }
        // WebP bytes 8..12 without the RIFF container.
        assert!(sniff(Kind::Image, b"XXXX\x00\x00\x00\x00WEBPVP8 ").is_err());
    }
}
