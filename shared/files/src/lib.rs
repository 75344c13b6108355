//! S3 adapter for attachments. Uploads and downloads never pass through a function: we
//! sign short-lived URLs. Every upload URL signs its content type, its length and the
//! bucket's KMS encryption, so S3 refuses anything else; objects are keyed by org. Exports
//! too large for a Lambda response are put here too, for a day.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{ServerSideEncryption, Tag, Tagging};
use aws_sdk_s3::Client;
use domain::attachment::{ContentType, SNIFF_BYTES};
use domain::{AttachmentId, ExportId, OrgId, ThreadId};
use sha2::{Digest, Sha256};

/// How long an upload or download URL stays valid.
pub const URL_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
#[error("file storage unavailable")]
pub struct FilesError(#[source] Box<dyn std::error::Error + Send + Sync>);

fn err(e: impl std::error::Error + Send + Sync + 'static) -> FilesError {
    FilesError(Box::new(e))
}

/// A presigned request: where, and the headers the client must send exactly.
#[derive(Debug, Clone)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// What S3 holds for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size_bytes: u64,
    pub kms_encrypted: bool,
    /// The first bytes, to recognise the type.
    pub head: Vec<u8>,
    /// The version these facts are of (the bucket is versioned): downloads are pinned to
    /// it, so bytes PUT again through a still-valid upload URL are never served.
    pub version_id: Option<String>,
    /// SHA-256 of the version's bytes (lower-case hex); `None` when it was not read (not
    /// the size expected, or over the limit).
    pub sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Files {
    client: Client,
    bucket: String,
    key_id: String,
    pub max_bytes: u64,
}

impl Files {
    pub fn new(client: Client, bucket: impl Into<String>, key_id: impl Into<String>, max_bytes: u64) -> Self {
        Self { client, bucket: bucket.into(), key_id: key_id.into(), max_bytes }
    }

    pub fn object_key(org: &OrgId, id: &AttachmentId) -> String {
        format!("org/{org}/{id}")
    }

    /// Where an export of `thread` is put, one object per export.
    pub fn export_key(org: &OrgId, thread: &ThreadId, export: &ExportId, extension: &str) -> String {
        format!("exports/{org}/{thread}/{export}.{extension}")
    }

    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: ContentType,
        size: u64,
    ) -> Result<Presigned, FilesError> {
        let config = PresigningConfig::expires_in(URL_TTL).map_err(err)?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type.mime())
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.key_id)
            .presigned(config)
            .await
            .map_err(err)?;
        let headers = req.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        Ok(Presigned { url: req.uri().to_owned(), headers })
    }

    /// A download URL of the object's `version` (the one checked when it was attached).
    pub async fn presign_download(
        &self,
        key: &str,
        version: Option<&str>,
        file_name: &str,
    ) -> Result<String, FilesError> {
        let config = PresigningConfig::expires_in(URL_TTL).map_err(err)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .presigned(config)
            .await
            .map_err(err)?;
        Ok(req.uri().to_owned())
    }

    /// What was uploaded, or `None` if nothing was: one GET of the latest version, read
    /// through once to hash it when it is `expected_bytes` long and within the limit (else
    /// it is not read and `sha256` is `None`).
    pub async fn inspect(&self, key: &str, expected_bytes: u64) -> Result<Option<Stored>, FilesError> {
        let mut out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        let size_bytes = out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        let kms_encrypted = out.server_side_encryption() == Some(&ServerSideEncryption::AwsKms);
        let version_id = out.version_id().map(str::to_owned);
        let mut stored = Stored { size_bytes, kms_encrypted, head: Vec::new(), version_id, sha256: None };
        if size_bytes != expected_bytes || size_bytes > self.max_bytes {
            return Ok(Some(stored));
        }
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        while let Some(chunk) = out.body.next().await {
            let chunk = chunk.map_err(err)?;
            read += chunk.len() as u64;
            if read > size_bytes {
                // More than S3 said it holds: not the object that was measured.
                return Ok(Some(stored));
            }
            let wanted = SNIFF_BYTES.saturating_sub(stored.head.len()).min(chunk.len());
            stored.head.extend_from_slice(&chunk[..wanted]);
            hasher.update(&chunk);
        }
        stored.sha256 = (read == size_bytes).then(|| domain::audit::hex(&hasher.finalize()));
        Ok(Some(stored))
    }

    /// Stores a finished export too large to answer inline (under `exports/`, which the
    /// bucket's lifecycle expires after a day) and returns a download URL for it.
    pub async fn put_export(
        &self,
        key: &str,
        content_type: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, FilesError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.key_id)
            .body(bytes.into())
            .send()
            .await
            .map_err(err)?;
        self.presign_download(key, None, file_name).await
    }

    /// Tags an object archived; the bucket's lifecycle rule moves it to archival storage.
    pub async fn tag_archived(&self, key: &str, version: Option<&str>) -> Result<(), FilesError> {
        let tag = Tag::builder().key("archived").value("true").build().map_err(err)?;
        let tagging = Tagging::builder().tag_set(tag).build().map_err(err)?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .tagging(tagging)
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), FilesError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(err)?;
        Ok(())
    }
}
