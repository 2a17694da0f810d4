//! [`PairSettings`]: the per-pair knobs a user can change, stored with the pair.

use serde::{Deserialize, Serialize};

/// Settings of one sync pair. Every field has a default, so settings saved by an older
/// version still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PairSettings {
    /// Transfers (uploads + downloads) running at once.
    pub concurrency: usize,
    /// The delete guard: a sync that would delete more than this many files...
    pub delete_limit_files: u64,
    /// ...and more than this share (percent) of the pair's files stops and asks first.
    pub delete_limit_percent: u8,
    /// Write Google Docs, Sheets and Slides locally as Office files exported from Drive
    /// (`.docx`, `.xlsx`, `.pptx`) instead of link files. The export follows the Doc; a local
    /// edit of one is kept as a conflict copy uploaded next to the Doc (SEMANTICS.md).
    pub export_docs: bool,
    /// The pair is synced (a disabled pair keeps its state but is skipped).
    pub enabled: bool,
}

impl Default for PairSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            delete_limit_files: 50,
            delete_limit_percent: 10,
            export_docs: false,
            enabled: true,
        }
    }
}
