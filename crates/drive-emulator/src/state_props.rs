//! Property tests of the Drive state: random operation sequences through [`crate::ops`] keep
//! the tree consistent, refused operations change nothing, and replaying the journal rebuilds
//! exactly the same Drive and change feed.

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use crate::journal::Journal;
use crate::meta::FileMeta;
use crate::model::{FileRecord, FOLDER_MIME};
use crate::ops::{self, NewContent};
use crate::state::State;

#[derive(Debug, Clone)]
enum Action {
    Folder(usize),
    File(usize, u64),
    Rename(usize),
    Move(usize, usize),
    Trash(usize),
    Untrash(usize),
    Delete(usize),
    Content(usize, u64),
    EmptyTrash,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => any::<usize>().prop_map(Action::Folder),
        3 => (any::<usize>(), 0u64..1000).prop_map(|(p, s)| Action::File(p, s)),
        1 => any::<usize>().prop_map(Action::Rename),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Action::Move(a, b)),
        2 => any::<usize>().prop_map(Action::Trash),
        1 => any::<usize>().prop_map(Action::Untrash),
        1 => any::<usize>().prop_map(Action::Delete),
        1 => (any::<usize>(), 0u64..1000).prop_map(|(f, s)| Action::Content(f, s)),
        1 => Just(Action::EmptyTrash),
    ]
}

fn sorted_files(s: &State) -> Vec<FileRecord> {
    let mut v: Vec<FileRecord> = s.all_files().cloned().collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

fn feed(s: &State, from: u64) -> Vec<(String, bool)> {
    s.changes_since(from)
        .expect("valid token")
        .map(|c| (c.file_id.clone(), c.removed))
        .collect()
}

fn pick(ids: &[String], i: usize) -> String {
    ids[i % ids.len()].clone()
}

fn check_invariants(s: &State) -> Result<(), TestCaseError> {
    let stored: u64 = s
        .all_files()
        .filter_map(|f| f.content.as_ref())
        .map(|c| c.size)
        .sum();
    prop_assert_eq!(
        s.usage(),
        stored,
        "usage counter matches the content stored"
    );
    for f in s.all_files() {
        if f.id == s.root_id {
            prop_assert!(f.parents.is_empty() && !f.trashed);
            continue;
        }
        prop_assert_eq!(f.parents.len(), 1, "one parent: {:?}", f);
        let parent = s.file(&f.parents[0]);
        prop_assert!(
            parent.is_some_and(FileRecord::is_folder),
            "parent is a live folder: {:?}",
            f
        );
        let parent = parent.expect("checked");
        prop_assert_eq!(
            f.trashed,
            f.explicitly_trashed || parent.trashed,
            "trash propagation: {:?}",
            f
        );
        prop_assert!(
            s.children(&parent.id).any(|c| c.id == f.id),
            "child index: {:?}",
            f
        );
        prop_assert!(
            s.path_of(&f.id).is_some(),
            "reachable from the root: {:?}",
            f
        );
        prop_assert_eq!(f.content.is_some(), !f.is_google_type());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_operations_keep_the_drive_consistent_and_replayable(actions in proptest::collection::vec(action(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.jsonl");
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut s = State::new(vec![], Some(&path), t0).expect("state");
        let start = s.start_page_token();
        for (step, a) in actions.into_iter().enumerate() {
            let now = t0 + Duration::seconds(step as i64 + 1);
            let ids: Vec<String> = sorted_files(&s).into_iter().map(|f| f.id).collect();
            let folders: Vec<String> = sorted_files(&s).into_iter().filter(|f| f.mime_type == FOLDER_MIME).map(|f| f.id).collect();
            let before = sorted_files(&s);
            let content = |n: u64| NewContent { blob: format!("blob-{step}"), size: n, md5: format!("{n:032x}"), mime: None };
            let meta = |parent: String| FileMeta { name: Some(format!("n{step}")), parents: Some(vec![parent]), ..Default::default() };
            let result = match a {
                Action::Folder(p) => ops::create(&mut s, FileMeta { mime_type: Some(FOLDER_MIME.into()), ..meta(pick(&folders, p)) }, None, now).map(|_| ()),
                Action::File(p, n) => ops::create(&mut s, meta(pick(&folders, p)), Some(content(n)), now).map(|_| ()),
                Action::Rename(f) => ops::update(&mut s, &pick(&ids, f), FileMeta { name: Some(format!("r{step}")), ..Default::default() }, &[], &[], None, now).map(|_| ()),
                Action::Move(f, p) => {
                    let id = pick(&ids, f);
                    let old = s.file(&id).and_then(|r| r.parents.first().cloned()).unwrap_or_default();
                    ops::update(&mut s, &id, FileMeta::default(), &[pick(&folders, p)], &[old], None, now).map(|_| ())
                }
                Action::Trash(f) => ops::update(&mut s, &pick(&ids, f), FileMeta { trashed: Some(true), ..Default::default() }, &[], &[], None, now).map(|_| ()),
                Action::Untrash(f) => ops::update(&mut s, &pick(&ids, f), FileMeta { trashed: Some(false), ..Default::default() }, &[], &[], None, now).map(|_| ()),
                Action::Delete(f) => ops::delete(&mut s, &pick(&ids, f), now).map(|_| ()),
                Action::Content(f, n) => ops::update(&mut s, &pick(&ids, f), FileMeta::default(), &[], &[], Some(content(n)), now).map(|_| ()),
                Action::EmptyTrash => ops::empty_trash(&mut s, now).map(|_| ()),
            };
            if result.is_err() {
                prop_assert_eq!(&sorted_files(&s), &before, "a refused operation changes nothing");
            }
            check_invariants(&s)?;
            for f in sorted_files(&s) {
                if let Some(old) = before.iter().find(|b| b.id == f.id) {
                    prop_assert!(f == *old || f.version > old.version, "version grows on change");
                }
            }
        }
        let replayed = State::new(Journal::read(&path).expect("read"), None, t0).expect("replay");
        prop_assert_eq!(sorted_files(&replayed), sorted_files(&s));
        prop_assert_eq!(replayed.start_page_token(), s.start_page_token());
        prop_assert_eq!(feed(&replayed, start), feed(&s, start));
        let live: std::collections::HashSet<String> = s.all_files().map(|f| f.id.clone()).collect();
        for (id, removed) in feed(&s, start) {
            prop_assert_eq!(removed, !live.contains(&id), "the feed ends each file in its current state");
        }
    }
}
