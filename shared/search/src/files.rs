//! The index's files in S3 (`{org}/{file}`) and the local copy of one version.

use std::collections::HashSet;
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

    fn key(org: &OrgId, name: &str) -> String {
        format!("{}/{name}", org.as_str())
    }

    pub async fn upload(&self, org: &OrgId, dir: &Path, names: Vec<String>) -> Result<(), SearchError> {
        stream::iter(names)
            .map(|name: String| async move {
                let body = aws_sdk_s3::primitives::ByteStream::from_path(dir.join(name.as_str()))
                    .await
                    .map_err(storage)?;
                self.s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(Self::key(org, &name))
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

    async fn download(&self, org: &OrgId, dir: &Path, name: &str) -> Result<(), SearchError> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(Self::key(org, name))
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
        let wanted: HashSet<&str> = snapshot.files.iter().map(String::as_str).collect();
        let mut present = HashSet::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            // Tantivy's own bookkeeping and locks start with a dot.
            if name.starts_with('.') || name == META {
                continue;
            }
            if wanted.contains(name.as_str()) {
                present.insert(name);
            } else {
                std::fs::remove_file(dir.join(&name))?;
            }
        }
        let missing: Vec<String> =
            wanted.into_iter().filter(|n| !present.contains(*n)).map(str::to_owned).collect();
        stream::iter(missing)
            .map(|name: String| async move { self.download(org, dir, &name).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
        let part = dir.join(format!("{META}.part"));
        std::fs::write(&part, &snapshot.meta)?;
        std::fs::rename(part, dir.join(META))?;
        Ok(())
    }
}

/// Removes everything in `dir` (a new index starts there).
pub(crate) fn empty_dir(dir: &Path) -> Result<(), SearchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}
