//! The index's files in S3 (`{org}/{file}`) and the local copy of one version.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use domain::search::IndexSnapshot;
use domain::OrgId;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::SearchError;

/// Tantivy's file naming the segments of the version on disk.
pub(crate) const META: &str = "meta.json";
/// Files fetched or uploaded at once.
const CONCURRENCY: usize = 8;

#[derive(Clone)]
pub(crate) struct Files {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

fn storage(e: impl std::fmt::Display) -> SearchError {
    SearchError::Storage(e.to_string())
}

impl Files {
    pub fn new(s3: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { s3, bucket }
    }

    /// The object of a version's file entry (`{write id}/{file name}`).
    fn key(org: &OrgId, entry: &str) -> String {
        format!("{}/{entry}", org.as_str())
    }

    /// Uploads the local files `names` under `{org}/{write_id}/`.
    pub async fn upload(
        &self,
        org: &OrgId,
        dir: &Path,
        write_id: &str,
        names: Vec<String>,
    ) -> Result<(), SearchError> {
        stream::iter(names)
            .map(|name: String| async move {
                let body = aws_sdk_s3::primitives::ByteStream::from_path(dir.join(name.as_str()))
                    .await
                    .map_err(storage)?;
                self.s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(Self::key(org, &format!("{write_id}/{name}")))
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| storage(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                Ok::<_, SearchError>(())
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await
    }

    pub async fn delete(&self, org: &OrgId, names: &[String]) -> Result<(), SearchError> {
        // At most 1,000 keys a request.
        for chunk in names.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|n| aws_sdk_s3::types::ObjectIdentifier::builder().key(Self::key(org, n)).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)?;
            let delete = aws_sdk_s3::types::Delete::builder().set_objects(Some(objects)).quiet(true).build();
            self.s3
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete.map_err(storage)?)
                .send()
                .await
                .map_err(|e| storage(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        }
        Ok(())
    }

    async fn download(&self, org: &OrgId, dir: &Path, entry: &str) -> Result<(), SearchError> {
        let name = local_name(entry);
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(Self::key(org, entry))
            .send()
            .await
            .map_err(|e| storage(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let bytes = object.body.collect().await.map_err(storage)?.into_bytes();
        // Written aside, then renamed: a file under its own name is always whole.
        let part = dir.join(format!("{name}.part"));
        tokio::fs::write(&part, &bytes).await?;
        tokio::fs::rename(&part, dir.join(name)).await?;
        Ok(())
    }

    /// Makes `dir` hold exactly the version `snapshot`: fetches the files it lacks,
    /// removes those the version does not read, writes its `meta.json`.
    pub async fn sync(&self, org: &OrgId, dir: &Path, snapshot: &IndexSnapshot) -> Result<(), SearchError> {
        std::fs::create_dir_all(dir)?;
        let wanted: HashMap<&str, &str> =
            snapshot.files.iter().map(|e| (local_name(e), e.as_str())).collect();
        let mut present = HashSet::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            // Tantivy's own bookkeeping and locks start with a dot.
            if name.starts_with('.') || name == META {
                continue;
            }
            if wanted.contains_key(name.as_str()) {
                present.insert(name);
            } else {
                std::fs::remove_file(dir.join(&name))?;
            }
        }
        let missing: Vec<String> =
            wanted.into_iter().filter(|(n, _)| !present.contains(*n)).map(|(_, e)| e.to_owned()).collect();
        stream::iter(missing)
            .map(|entry: String| async move { self.download(org, dir, &entry).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
        let part = dir.join(format!("{META}.part"));
        std::fs::write(&part, &snapshot.meta)?;
        std::fs::rename(part, dir.join(META))?;
        Ok(())
    }
}

/// The local file name of a version's file entry (`{write id}/{file name}`).
pub(crate) fn local_name(entry: &str) -> &str {
    entry.rsplit('/').next().unwrap_or(entry)
}

/// Removes everything in `dir` (a new index starts there).
pub(crate) fn empty_dir(dir: &Path) -> Result<(), SearchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}
