//! What the table records of an org's search index: the commit readers open. The index's
//! files live in S3; this names them, so readers and the writer agree on one version.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSnapshot {
    /// Bumped by every write; a write is conditioned on the generation it started from.
    pub generation: u64,
    /// The index's `meta.json` (its segments and schema).
    pub meta: String,
    /// The segment files this version reads, each as `{write id}/{file name}`: the object
    /// `{org}/{entry}` in S3, the file `{file name}` on local disk. Each write puts its new
    /// files under an id of its own, so no write overwrites a file another recorded.
    pub files: Vec<String>,
    /// Files the previous version read and this one does not: deleted from S3 by the next
    /// write, so a reader still fetching the previous version finds them.
    pub obsolete: Vec<String>,
}
