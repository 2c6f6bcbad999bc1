//! Which `file_url`s an `image` / `audio` message may carry: only files this
//! server issued (`docs/uploads.md`), so a message can never point the other
//! side's browser at a foreign address — and, for local uploads, only files
//! that exist, so a forward to Telegram never names a missing file.

use std::path::PathBuf;

use crate::media::{self, Kind};

/// The media URLs this server issues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaUrls {
    /// The configured Cloudinary cloud name; `None` → local uploads only.
    pub cloudinary_cloud: Option<String>,
    /// `UPLOAD_DIR`, where `/uploads/…` files live; `None` → their existence
    /// is not checked (unit tests).
    pub upload_dir: Option<PathBuf>,
}

impl MediaUrls {
    /// `true` when `url` is a file of `kind` that this server issued:
    /// - `/uploads/images/<uuid>.<jpg|png|gif|webp>` or
    ///   `/uploads/audio/<uuid>.<mp3|wav|ogg|webm|m4a|aac>` (always accepted,
    ///   so files stored before a switch to Cloudinary stay valid);
    /// - with Cloudinary, `https://res.cloudinary.com/<cloud>/image/upload/…`
    ///   (images) or `…/video/upload/…` (audio) with a plain path (letters,
    ///   digits, `-_./`, no `..`, no query).
    pub fn allows(&self, url: &str, kind: Kind) -> bool {
        if let Some(name) = url
            .strip_prefix("/uploads/")
            .and_then(|rest| rest.strip_prefix(kind.folder()))
            .and_then(|rest| rest.strip_prefix('/'))
        {
            return media::parse_file_name(kind, name).is_some();
        }
        let Some(cloud) = &self.cloudinary_cloud else {
            return false;
        };
        let resource = media::cloudinary::Cloudinary::resource_type(kind);
        let prefix = format!("https://res.cloudinary.com/{cloud}/{resource}/upload/");
        url.strip_prefix(&prefix).is_some_and(|path| {
            !path.is_empty()
                && path.len() <= 300
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
                && !path.split('/').any(|seg| seg.is_empty() || seg == "..")
        })
    }
}

impl MediaUrls {
    /// Whether the file behind `url` exists: `Ok(true)` for a local upload
    /// (`/uploads/…`, already accepted by [`MediaUrls::allows`]) that is on
    /// disk, and for any other URL (Cloudinary's files are not looked up);
    /// `Ok(false)` for a local upload that is not there (never uploaded, or
    /// removed).
    ///
    /// # Errors
    /// The I/O error when the folder cannot be read.
    pub async fn exists(&self, url: &str) -> std::io::Result<bool> {
        let (Some(dir), Some(rel)) = (&self.upload_dir, url.strip_prefix("/uploads/")) else {
            return Ok(true);
        };
        // `allows` admitted only `<folder>/<uuid>.<ext>`: no `..`, no root.
        tokio::fs::try_exists(dir.join(rel)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b";

    #[test]
    fn local_uploads_need_our_names_and_the_right_folder() {
        let urls = MediaUrls::default();
        assert!(urls.allows(&format!("/uploads/images/{ID}.png"), Kind::Image));
        assert!(urls.allows(&format!("/uploads/audio/{ID}.webm"), Kind::Audio));
        for bad in [
            format!("/uploads/images/{ID}.mp3"),
            format!("/uploads/audio/{ID}.png"),
            format!("/uploads/images/{ID}.png?x=1"),
            format!("/uploads/images/../{ID}.png"),
            format!("/uploads/images/{}.png", ID.to_uppercase()),
            "/uploads/images/ab-12.png".into(),
            "/uploads/images/.hidden.png".into(),
            format!("//evil.example/uploads/images/{ID}.png"),
            format!("https://res.cloudinary.com/demo/image/upload/v1/{ID}.png"),
        ] {
            assert!(!urls.allows(&bad, Kind::Image), "{bad}");
        }
        assert!(!urls.allows(&format!("/uploads/audio/{ID}.webm"), Kind::Image));
    }

    #[test]
    fn cloudinary_urls_need_the_configured_cloud() {
        let urls = MediaUrls {
            cloudinary_cloud: Some("demo".into()),
            upload_dir: None,
        };
        let ok = format!("https://res.cloudinary.com/demo/image/upload/v17/sohbet/images/{ID}.png");
        assert!(urls.allows(&ok, Kind::Image));
        assert!(!urls.allows(&ok, Kind::Audio), "audio lives under /video/");
        assert!(urls.allows(
            &format!("https://res.cloudinary.com/demo/video/upload/v1/sohbet/audio/{ID}.webm"),
            Kind::Audio
        ));
        for bad in [
            "https://res.cloudinary.com/other/image/upload/v1/x.png",
            "http://res.cloudinary.com/demo/image/upload/v1/x.png",
            "https://res.cloudinary.com.evil/demo/image/upload/v1/x.png",
            "https://res.cloudinary.com/demo/image/upload/v1/../../x.png",
            "https://res.cloudinary.com/demo/image/upload/x.png?y=1",
            "https://res.cloudinary.com/demo/image/upload/",
        ] {
            assert!(!urls.allows(bad, Kind::Image), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_local_upload_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("images")).unwrap();
        std::fs::write(dir.path().join(format!("images/{ID}.png")), b"x").unwrap();
        let urls = MediaUrls {
            cloudinary_cloud: Some("demo".into()),
            upload_dir: Some(dir.path().to_owned()),
        };
        assert!(
            urls.exists(&format!("/uploads/images/{ID}.png"))
                .await
                .unwrap()
        );
        let gone = "/uploads/images/1b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.png";
        assert!(!urls.exists(gone).await.unwrap());
        assert!(
            urls.exists("https://res.cloudinary.com/demo/image/upload/v1/x.png")
                .await
                .unwrap()
        );
    }
}
