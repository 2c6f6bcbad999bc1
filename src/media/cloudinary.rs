//! Cloudinary's upload API: one signed `POST` per file, answered with the
//! `secure_url` that messages then carry. The API secret only signs; it is
//! never sent nor logged.
//!
//! API: `POST {CLOUDINARY_API_URL}/v1_1/<cloud_name>/<resource_type>/upload`,
//! multipart `file`, `api_key`, `timestamp`, `signature` and the signed
//! parameters (Cloudinary docs, "Upload API reference" and "Authentication
//! signatures"). Audio goes under `resource_type` `video`, as Cloudinary
//! files audio.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use sha1::{Digest, Sha1};

use super::{Format, Kind, MediaError, Stored};
use crate::config::CloudinaryConfig;

/// Longest wait for Cloudinary's answer (the whole upload), seconds.
pub const TIMEOUT_SECS: u64 = 60;

/// An upload client for one Cloudinary account.
pub struct Cloudinary {
    config: CloudinaryConfig,
    client: reqwest::Client,
}

/// The fields of Cloudinary's answer that we use.
#[derive(Debug, Deserialize)]
struct UploadAnswer {
    public_id: String,
    secure_url: String,
}

/// Cloudinary's error answer `{"error": {"message"}}`.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: ErrorMessage,
}

#[derive(Debug, Deserialize)]
struct ErrorMessage {
    message: String,
}

/// The signature of an upload request, as Cloudinary's "Authentication
/// signatures" documentation specifies: every signed parameter (all sent
/// parameters except `file`, `cloud_name`, `resource_type` and `api_key`),
/// sorted by name, joined as `name=value` with `&`, the API secret appended,
/// then SHA-1, in lower-case hex.
///
/// Example from that page: `eager=w_400,h_300,c_pad|w_260,h_200,c_crop`,
/// `public_id=sample_image`, `timestamp=1315060510`, secret `abcd` →
/// `bfd09f95f331f558cbd1320e67aa8d488770583e`.
pub fn sign(params: &[(&str, &str)], api_secret: &str) -> String {
    let mut sorted: Vec<&(&str, &str)> = params
        .iter()
        .filter(|(k, _)| !matches!(*k, "file" | "cloud_name" | "resource_type" | "api_key"))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let joined = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut sha = Sha1::new();
    sha.update(joined.as_bytes());
    sha.update(api_secret.as_bytes());
    hex::encode(sha.finalize())
}

impl Cloudinary {
    /// A client with connect and total time-outs, rustls (ring) TLS.
    ///
    /// # Errors
    /// [`MediaError::Upstream`] when the HTTP client cannot be built.
    pub fn new(config: CloudinaryConfig) -> Result<Cloudinary, MediaError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(TIMEOUT_SECS))
            .build()
            .map_err(|e| MediaError::Upstream(format!("HTTP client: {e}")))?;
        Ok(Cloudinary { config, client })
    }

    /// `image` or `video` (Cloudinary files audio as video).
    pub fn resource_type(kind: Kind) -> &'static str {
        match kind {
            Kind::Image => "image",
            Kind::Audio => "video",
        }
    }

    /// Uploads `bytes` as `sohbet/<images|audio>/<id>`; answers
    /// `{file_path: public_id, file_url: secure_url}`.
    ///
    /// # Errors
    /// [`MediaError::Upstream`] for a transport error or time-out, a non-2xx
    /// answer, an unreadable answer, or a `secure_url` outside
    /// `https://res.cloudinary.com/<cloud_name>/`.
    #[tracing::instrument(skip(self, bytes), fields(cloud = %self.config.cloud_name, bytes = bytes.len()))]
    pub async fn upload(
        &self,
        kind: Kind,
        format: Format,
        id: uuid::Uuid,
        bytes: Vec<u8>,
    ) -> Result<Stored, MediaError> {
        let result = self.send(kind, format, id, bytes).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "upload to Cloudinary failed");
        }
        result
    }

    async fn send(
        &self,
        kind: Kind,
        format: Format,
        id: uuid::Uuid,
        bytes: Vec<u8>,
    ) -> Result<Stored, MediaError> {
        let resource_type = Self::resource_type(kind);
        let folder = format!("sohbet/{}", kind.folder());
        let public_id = id.to_string();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        let signed = [
            ("folder", folder.as_str()),
            ("public_id", public_id.as_str()),
            ("timestamp", timestamp.as_str()),
        ];
        let signature = sign(&signed, &self.config.api_secret);
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(format!("{public_id}.{}", format.ext()))
            .mime_str(format.mime())
            .map_err(|e| MediaError::Upstream(format!("multipart: {e}")))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("api_key", self.config.api_key.clone())
            .text("signature", signature);
        for (k, v) in signed {
            form = form.text(k, v.to_owned());
        }
        let url = format!(
            "{}/v1_1/{}/{resource_type}/upload",
            self.config.api_url, self.config.cloud_name
        );
        let res = self
            .client
            .post(&url)
            .multipart(form)
            .send()
            .await
            .map_err(|e| MediaError::Upstream(format!("request: {e}")))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| MediaError::Upstream(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let why = serde_json::from_slice::<ErrorAnswer>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| "no error message".into());
            return Err(MediaError::Upstream(format!("HTTP {status}: {why}")));
        }
        let answer: UploadAnswer = serde_json::from_slice(&body)
            .map_err(|e| MediaError::Upstream(format!("unreadable answer: {e}")))?;
        let expected = format!(
            "https://res.cloudinary.com/{}/{resource_type}/",
            self.config.cloud_name
        );
        if !answer.secure_url.starts_with(&expected) {
            return Err(MediaError::Upstream(format!(
                "secure_url outside {expected}: {}",
                answer.secure_url
            )));
        }
        Ok(Stored {
            file_path: answer.public_id,
            file_url: answer.secure_url,
        })
    }
}

impl Cloudinary {
    /// The `(resource_type, public_id)` of a delivery URL of this account:
    /// `https://res.cloudinary.com/<cloud>/<image|video>/upload/[v<n>/]<public_id>.<ext>`;
    /// `None` for any other URL.
    pub fn public_id_of(&self, url: &str) -> Option<(&'static str, String)> {
        public_id_of(&self.config.cloud_name, url)
    }

    /// Deletes the file `public_id` of `resource_type` (`image` or
    /// `video`) from Cloudinary: `POST {api}/v1_1/<cloud>/<resource_type>/destroy`
    /// with `public_id`, `invalidate=true` (CDN caches are purged),
    /// `timestamp`, `api_key` and the signature (Cloudinary docs, "Upload
    /// API reference" § destroy). `Ok(true)`: deleted; `Ok(false)`:
    /// Cloudinary did not have it (`{"result": "not found"}`).
    ///
    /// # Errors
    /// [`MediaError::Upstream`] for a transport error, a non-2xx answer or
    /// an unreadable one.
    #[tracing::instrument(skip(self), fields(cloud = %self.config.cloud_name))]
    pub async fn destroy(&self, resource_type: &str, public_id: &str) -> Result<bool, MediaError> {
        #[derive(Deserialize)]
        struct DestroyAnswer {
            result: String,
        }
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        let signed = [
            ("invalidate", "true"),
            ("public_id", public_id),
            ("timestamp", timestamp.as_str()),
        ];
        let mut form: Vec<(&str, String)> =
            signed.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        form.push(("api_key", self.config.api_key.clone()));
        form.push(("signature", sign(&signed, &self.config.api_secret)));
        let url = format!(
            "{}/v1_1/{}/{resource_type}/destroy",
            self.config.api_url, self.config.cloud_name
        );
        let res = self
            .client
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| MediaError::Upstream(format!("request: {e}")))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| MediaError::Upstream(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let why = serde_json::from_slice::<ErrorAnswer>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| "no error message".into());
            tracing::warn!(%status, %why, "Cloudinary destroy failed");
            return Err(MediaError::Upstream(format!("HTTP {status}: {why}")));
        }
        let answer: DestroyAnswer = serde_json::from_slice(&body)
            .map_err(|e| MediaError::Upstream(format!("unreadable answer: {e}")))?;
        match answer.result.as_str() {
            "ok" => Ok(true),
            "not found" => Ok(false),
            other => Err(MediaError::Upstream(format!("destroy answered {other}"))),
        }
    }
}

impl Cloudinary {
    /// `GET`s the delivery URL `url` of this account (from
    /// `CLOUDINARY_DELIVERY_URL` in place of `https://res.cloudinary.com`):
    /// the answer, whose body the caller reads; `None` for a URL of
    /// another account or host (never fetched) or a 404.
    ///
    /// # Errors
    /// [`MediaError::Upstream`] for a transport error or a non-2xx answer
    /// other than 404.
    #[tracing::instrument(skip_all, fields(cloud = %self.config.cloud_name))]
    pub async fn fetch(&self, url: &str) -> Result<Option<reqwest::Response>, MediaError> {
        if self.public_id_of(url).is_none() {
            return Ok(None);
        }
        let Some(path) = url.strip_prefix("https://res.cloudinary.com") else {
            return Ok(None);
        };
        let res = self
            .client
            .get(format!("{}{path}", self.config.delivery_url))
            .send()
            .await
            .map_err(|e| MediaError::Upstream(format!("request: {e}")))?;
        match res.status() {
            s if s.is_success() => Ok(Some(res)),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s => Err(MediaError::Upstream(format!("fetching a file: HTTP {s}"))),
        }
    }
}

/// See [`Cloudinary::public_id_of`].
fn public_id_of(cloud: &str, url: &str) -> Option<(&'static str, String)> {
    let rest = url
        .strip_prefix("https://res.cloudinary.com/")?
        .strip_prefix(cloud)?
        .strip_prefix('/')?;
    let (resource_type, rest) = match rest.split_once("/upload/")? {
        ("image", r) => ("image", r),
        ("video", r) => ("video", r),
        _ => return None,
    };
    let rest = match rest.split_once('/') {
        Some((v, r))
            if v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            r
        }
        _ => rest,
    };
    let public_id = rest.rsplit_once('.').map_or(rest, |(id, _)| id);
    let safe = !public_id.is_empty()
        && !public_id.contains("..")
        && public_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b));
    safe.then(|| (resource_type, public_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_cloudinary_documentation_example() {
        let params = [
            ("timestamp", "1315060510"),
            ("public_id", "sample_image"),
            ("eager", "w_400,h_300,c_pad|w_260,h_200,c_crop"),
            ("api_key", "ignored"),
            ("file", "ignored"),
        ];
        assert_eq!(
            sign(&params, "abcd"),
            "bfd09f95f331f558cbd1320e67aa8d488770583e"
        );
    }

    #[test]
    fn public_ids_come_from_delivery_urls_of_this_cloud_only() {
        let id = "sohbet/images/0b6f0f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(
            public_id_of(
                "c1",
                &format!("https://res.cloudinary.com/c1/image/upload/v1/{id}.png")
            ),
            Some(("image", id.to_owned()))
        );
        assert_eq!(
            public_id_of(
                "c1",
                "https://res.cloudinary.com/c1/video/upload/sohbet/audio/x.webm"
            ),
            Some(("video", "sohbet/audio/x".to_owned()))
        );
        assert_eq!(
            public_id_of("c1", "https://res.cloudinary.com/c2/image/upload/v1/a.png"),
            None
        );
        assert_eq!(
            public_id_of("c1", "https://res.cloudinary.com/c1/raw/upload/v1/a.png"),
            None
        );
        assert_eq!(
            public_id_of(
                "c1",
                "https://res.cloudinary.com/c1/image/upload/v1/a b.png"
            ),
            None
        );
        assert_eq!(public_id_of("c1", "/uploads/images/a.png"), None);
    }

    #[test]
    fn audio_goes_under_video() {
        assert_eq!(Cloudinary::resource_type(Kind::Image), "image");
        assert_eq!(Cloudinary::resource_type(Kind::Audio), "video");
    }
}
