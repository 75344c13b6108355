//! KMS and S3 adapter of the audit checkpoints: chain heads are signed together with an
//! asymmetric KMS key (ECDSA P-256, the private half never leaves KMS), one signature over
//! the root of their Merkle tree, and the signed heads of a run are written to a bucket
//! with Object Lock in compliance mode, where nobody (not even the account's root) can
//! change or delete them before their retention ends.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_sdk_s3::primitives::ByteStream;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::audit::{seal_run, Seal, SignedSeal};
use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("the signing key is unavailable")]
    Kms(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the checkpoint bucket is unavailable")]
    S3(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where checkpoints are signed and kept.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    kms: aws_sdk_kms::Client,
    s3: aws_sdk_s3::Client,
    key_id: String,
    bucket: String,
    /// The key's public half (base64 DER), read once.
    public_key: std::sync::Arc<OnceCell<String>>,
}

impl Checkpoints {
    pub fn new(kms: aws_sdk_kms::Client, s3: aws_sdk_s3::Client, key_id: String, bucket: String) -> Self {
        Self { kms, s3, key_id, bucket, public_key: Default::default() }
    }

    /// A run's `seals` signed with one KMS request, over the root of their Merkle tree
    /// (each keeps its path to it), to be kept under `object_key`; in the same order.
    pub async fn sign_run(
        &self,
        seals: Vec<Seal>,
        object_key: &str,
    ) -> Result<Vec<SignedSeal>, CheckpointError> {
        let Some((signed_bytes, places)) = seal_run(&seals) else { return Ok(vec![]) };
        let public_key = self.public_key().await?;
        let signed = self
            .kms
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(signed_bytes))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| CheckpointError::Kms(Box::new(e)))?;
        let signature = signed.signature().map(|s| STANDARD.encode(s.as_ref())).unwrap_or_default();
        Ok(seals
            .into_iter()
            .zip(places)
            .map(|(seal, place)| SignedSeal {
                seal,
                signature: signature.clone(),
                key_id: self.key_id.clone(),
                public_key: public_key.clone(),
                object_key: object_key.to_owned(),
                run: Some(place),
            })
            .collect())
    }

    /// Writes a run's signed heads as one JSON object (the bucket's default retention locks it).
    pub async fn keep(&self, object_key: &str, seals: &[SignedSeal]) -> Result<(), CheckpointError> {
        let body = serde_json::to_vec(seals).map_err(|e| CheckpointError::S3(Box::new(e)))?;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| CheckpointError::S3(Box::new(e)))?;
        Ok(())
    }

    async fn public_key(&self) -> Result<String, CheckpointError> {
        self.public_key
            .get_or_try_init(|| async {
                let out = self
                    .kms
                    .get_public_key()
                    .key_id(&self.key_id)
                    .send()
                    .await
                    .map_err(|e| CheckpointError::Kms(Box::new(e)))?;
                Ok(out.public_key().map(|k| STANDARD.encode(k.as_ref())).unwrap_or_default())
            })
            .await
            .cloned()
    }
}
