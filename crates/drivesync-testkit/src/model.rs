//! The reference model for "no data loss", kept by the test beside the system under test.
//!
//! Versions are file contents, named by MD5 (the generator makes every version distinct). A
//! version can be in these places ([`Place`]): on a side (the local tree, a live Drive file),
//! in a trash (the OS trash or `.drivesync-trash`, Drive's trash), or in a Drive file's
//! version history (Drive keeps the old content when new content is uploaded into a file).
//!
//! The rules, from SEMANTICS.md (sections 2, 3, 9 and 10) and the design's safety rule 1
//! ("every version of a file that existed on either side when a sync began is, after it, on
//! at least one side or in a trash"):
//!
//! 1. **Required versions** ([`Model`]). Every version a user or the other device writes, and
//!    every version present anywhere when a sync begins, is required from then on. A version
//!    stops being required only when the user (or the other device) destroys it themselves
//!    while it was its last copy (`rm` of a file never synced, an overwrite of an edit never
//!    synced, a permanent delete on Drive). After every sync, crashed or failed ones included,
//!    every required version must be somewhere ([`Model::lost`]).
//! 2. **Edits are never trashed** ([`unsynced`], [`Model::trashed_edits`]). A version that is
//!    live on a side at the start of a sync and differs from the synced tree (a local edit or
//!    new file; a Drive file whose content or id is not the synced one) must still be live on
//!    a side after the sync, not only in a trash or in version history: SEMANTICS.md keeps
//!    both versions of every conflict, lets an edit win over a delete, and trashes only
//!    synced versions (section 4's folder rule, section 5's fallbacks). Versions the user
//!    destroys or trashes while the sync runs are exempt.
//! 3. **Overwrites replace only the synced version** ([`overwrite_ok`]). drivesync replaces
//!    content in two ways: a download over a local file, and an upload of new content into
//!    a Drive file. Either may only replace the synced version (or content equal to the new
//!    one). Rule 1 alone would miss an upload over an unseen Drive edit, since Drive keeps
//!    the old content in the file's history; this rule makes such an overwrite a failure.
//!    The one documented exception (SEMANTICS.md, known gaps): a Drive edit that lands in
//!    the one-request window between drivesync's re-check and its upload. The simulation
//!    recognizes that window and reports it apart.
//!
//! The strict readings chosen where SEMANTICS.md could be read loosely: Drive's version
//! history counts as a place for rule 1 (section 2 says an upload makes "a new revision", and
//! a download replaces the synced version "which Drive has"), but rule 3 keeps drivesync from
//! using it to hide an overwrite; and rule 2 requires edits to stay *live*, not merely
//! somewhere.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use drivesync_model::{BaseEntry, DriveId, Kind, Md5, RelPath, Tree};

/// Where a version is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// A local file (path).
    Local(String),
    /// The local trash (the path it had).
    LocalTrash(String),
    /// A live Drive file (id).
    Drive(String),
    /// A trashed Drive file (id).
    DriveTrash(String),
    /// The version history of a Drive file (id).
    DriveHistory(String),
}

impl Place {
    /// On a side (not in a trash or history).
    pub fn is_live(&self) -> bool {
        matches!(self, Place::Local(_) | Place::Drive(_))
    }
}

/// Every version and where it is, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    at: BTreeMap<Md5, BTreeSet<Place>>,
}

impl Presence {
    /// Records that `md5` is at `place`.
    pub fn add(&mut self, md5: Md5, place: Place) {
        self.at.entry(md5).or_default().insert(place);
    }

    /// Is `md5` anywhere?
    pub fn contains(&self, md5: &Md5) -> bool {
        self.at.contains_key(md5)
    }

    /// Is `md5` on a side?
    pub fn is_live(&self, md5: &Md5) -> bool {
        self.at
            .get(md5)
            .is_some_and(|ps| ps.iter().any(Place::is_live))
    }

    /// Where `md5` is.
    pub fn places(&self, md5: &Md5) -> Vec<&Place> {
        self.at
            .get(md5)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }

    /// Every version.
    pub fn versions(&self) -> impl Iterator<Item = &Md5> {
        self.at.keys()
    }
}

/// The required versions (rule 1 of the module docs).
#[derive(Debug, Clone, Default)]
pub struct Model {
    required: BTreeMap<Md5, String>,
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// A user or device wrote `md5` (`what` says how, for messages).
    pub fn wrote(&mut self, md5: Md5, what: impl Into<String>) {
        self.required.entry(md5).or_insert_with(|| what.into());
    }

    /// A user or device removed or overwrote these versions on its side; `now` is where
    /// versions are afterwards. A version with no copy left is the user's own loss.
    pub fn destroyed(&mut self, md5s: &[Md5], now: &Presence) {
        for m in md5s {
            if !now.contains(m) {
                self.required.remove(m);
            }
        }
    }

    /// A sync begins: everything present now is required.
    pub fn sync_begins(&mut self, now: &Presence) {
        for m in now.versions() {
            self.required.entry(*m).or_insert_with(|| {
                let places: Vec<String> = now.places(m).iter().map(|p| format!("{p:?}")).collect();
                format!("present when a sync began, at {}", places.join(", "))
            });
        }
    }

    /// Is `md5` required?
    pub fn is_required(&self, md5: &Md5) -> bool {
        self.required.contains_key(md5)
    }

    /// How many versions are required.
    pub fn len(&self) -> usize {
        self.required.len()
    }

    /// No version is required.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty()
    }

    /// Required versions that are nowhere in `now`, described.
    pub fn lost(&self, now: &Presence) -> Vec<String> {
        self.required
            .iter()
            .filter(|(m, _)| !now.contains(m))
            .map(|(m, what)| format!("{m} ({what})"))
            .collect()
    }

    /// Rule 2: versions of `unsynced` (taken when the sync began) that are not live in
    /// `now`, except those the user destroyed meanwhile.
    pub fn trashed_edits(
        unsynced: &BTreeMap<Md5, String>,
        destroyed_by_user: &HashSet<Md5>,
        now: &Presence,
    ) -> Vec<String> {
        unsynced
            .iter()
            .filter(|(m, _)| !destroyed_by_user.contains(m) && !now.is_live(m))
            .map(|(m, what)| {
                let places: Vec<String> = now.places(m).iter().map(|p| format!("{p:?}")).collect();
                format!("{m} ({what}) is now only at [{}]", places.join(", "))
            })
            .collect()
    }
}

/// Rule 2's starting set: the live versions that are not synced versions. `local` is every
/// local file (path, content); `drive` every live Drive file in the pair (id, content). A
/// local file counts as synced when the synced tree holds its content at any path (a file
/// moved since the last sync is not an edit); a Drive file when its id's synced content, or
/// any synced content, is its content.
pub fn unsynced(
    local: impl IntoIterator<Item = (RelPath, Md5)>,
    drive: impl IntoIterator<Item = (DriveId, Md5)>,
    base: &Tree<BaseEntry>,
) -> BTreeMap<Md5, String> {
    let synced: HashSet<Md5> = base
        .values()
        .filter(|b| b.kind == Kind::File)
        .filter_map(|b| b.md5)
        .collect();
    let mut out = BTreeMap::new();
    for (p, m) in local {
        if !synced.contains(&m) {
            out.entry(m)
                .or_insert_with(|| format!("unsynced local version at {p}"));
        }
    }
    for (id, m) in drive {
        if !synced.contains(&m) {
            out.entry(m)
                .or_insert_with(|| format!("unsynced Drive version in file {id}"));
        }
    }
    out
}

/// Rule 3: may drivesync replace `old` by `new` where the synced tree has `synced` (at that
/// path, or for that Drive file)? `all_synced` is every content of the synced tree: a file
/// whose move was done but not yet recorded (a crash or a lost answer in between) still
/// holds a synced version.
pub fn overwrite_ok(old: Md5, new: Md5, synced: Option<Md5>, all_synced: &HashSet<Md5>) -> bool {
    old == new || Some(old) == synced || all_synced.contains(&old)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u8) -> Md5 {
        Md5([n; 16])
    }

    #[test]
    fn a_version_the_user_destroys_as_its_last_copy_is_no_longer_required() {
        let mut model = Model::new();
        model.wrote(m(1), "local write a");
        let mut now = Presence::default();
        now.add(m(2), Place::Local("a".into()));
        model.destroyed(&[m(1)], &now);
        assert!(model.is_empty());
        model.wrote(m(2), "local write a");
        let mut elsewhere = Presence::default();
        elsewhere.add(m(2), Place::DriveHistory("x".into()));
        model.destroyed(&[m(2)], &elsewhere);
        assert!(
            model.is_required(&m(2)),
            "still on Drive: drivesync must keep it"
        );
        assert_eq!(model.lost(&Presence::default()).len(), 1);
        assert!(model.lost(&elsewhere).is_empty());
    }

    #[test]
    fn an_edit_only_in_a_trash_is_reported() {
        let mut unsynced = BTreeMap::new();
        unsynced.insert(m(1), "edit".to_owned());
        let mut now = Presence::default();
        now.add(m(1), Place::DriveTrash("x".into()));
        assert_eq!(
            Model::trashed_edits(&unsynced, &HashSet::new(), &now).len(),
            1
        );
        now.add(m(1), Place::Local("b".into()));
        assert!(Model::trashed_edits(&unsynced, &HashSet::new(), &now).is_empty());
    }
}
