//! Persistence for `--data-dir`: every state change is one JSON line appended to
//! `journal.jsonl`; at start the journal is replayed and rewritten compactly. A torn last line
//! (the process died mid-write) is ignored.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Journal {
    /// Reads every complete record of the journal at `path` (none if it does not exist).
    pub fn read<T: DeserializeOwned>(path: &Path) -> std::io::Result<Vec<T>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            match serde_json::from_str(&line) {
                Ok(op) => out.push(op),
                Err(e) => {
                    tracing::warn!(%e, "ignoring a torn or unreadable journal record");
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Replaces the journal at `path` with `records` and opens it for appending.
    pub fn rewrite<T: Serialize>(
        path: &Path,
        records: impl IntoIterator<Item = T>,
    ) -> std::io::Result<Self> {
        let tmp = path.with_extension("jsonl.tmp");
        {
            let mut w = BufWriter::new(File::create(&tmp)?);
            for r in records {
                serde_json::to_writer(&mut w, &r)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let out = BufWriter::new(OpenOptions::new().append(true).open(path)?);
        Ok(Self {
            path: path.to_owned(),
            out,
        })
    }

    /// Appends one record and hands it to the OS (survives a crash of the process).
    pub fn append<T: Serialize>(&mut self, record: &T) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Empties the journal.
    pub fn truncate(&mut self) -> std::io::Result<()> {
        *self = Self::rewrite::<()>(&self.path, [])?;
        Ok(())
    }
}
