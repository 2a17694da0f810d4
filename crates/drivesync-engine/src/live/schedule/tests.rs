//! The live schedule, step by step with made-up times.

use std::collections::BTreeSet;
use std::time::Duration;

use drivesync_model::RelPath;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn paths(ps: &[&str]) -> BTreeSet<RelPath> {
    ps.iter().map(|p| RelPath::new(*p).unwrap()).collect()
}

/// A schedule whose first full sync already ran at 0 and changed nothing.
fn started() -> Schedule {
    let mut sch = Schedule::new(Timing::default(), s(0));
    assert_eq!(sch.start(s(0)), Some(Scope::Full));
    sch.finished(s(0), Outcome::Done { changed: false });
    sch
}

#[test]
fn the_first_sync_is_full_and_immediate() {
    let mut sch = Schedule::new(Timing::default(), s(0));
    assert_eq!(sch.next_due(), Some(s(0)));
    assert_eq!(sch.start(s(0)), Some(Scope::Full));
    assert_eq!(sch.next_due(), None, "nothing while it runs");
}

#[test]
fn idle_pairs_poll_drive_at_the_interval_and_touch_nothing_locally() {
    let mut sch = started();
    assert_eq!(sch.next_due(), Some(s(15)));
    assert_eq!(sch.start(s(14)), None);
    assert_eq!(sch.start(s(15)), Some(Scope::Touched(BTreeSet::new())));
    sch.finished(s(15), Outcome::Done { changed: true });
    assert_eq!(sch.next_due(), Some(s(17)), "sooner after activity");
}

#[test]
fn a_burst_of_local_events_becomes_one_sync_once_it_settles() {
    let mut sch = started();
    for i in 0..10 {
        sch.local_changed(s(1) + ms(100 * i), paths(&[&format!("f{i}")]));
    }
    assert_eq!(sch.next_due(), Some(s(1) + ms(900 + 400)));
    assert_eq!(sch.start(s(2)), None);
    let Some(Scope::Touched(p)) = sch.start(ms(2300)) else {
        panic!("a narrowed sync")
    };
    assert_eq!(p.len(), 10);
    assert_eq!(sch.pending(), 0);
}

#[test]
fn an_endless_burst_still_syncs_after_max_settle() {
    let mut sch = started();
    for i in 0..100 {
        sch.local_changed(s(1) + ms(200 * i), paths(&["busy.log"]));
    }
    assert_eq!(sch.next_due(), Some(s(4)), "first event + max_settle");
}

#[test]
fn events_during_a_sync_wait_for_the_next_one() {
    let mut sch = started();
    sch.local_changed(s(1), paths(&["a"]));
    assert!(sch.start(s(2)).is_some());
    sch.local_changed(ms(2100), paths(&["b"]));
    assert_eq!(sch.next_due(), None);
    sch.finished(s(3), Outcome::Done { changed: true });
    assert_eq!(sch.next_due(), Some(ms(2500)));
    assert_eq!(sch.start(s(3)), Some(Scope::Touched(paths(&["b"]))));
}

#[test]
fn failures_back_off_and_keep_the_touched_paths() {
    let mut sch = started();
    sch.local_changed(s(1), paths(&["a"]));
    assert!(sch.start(s(2)).is_some());
    sch.finished(s(2), Outcome::Failed);
    assert_eq!(sch.next_due(), Some(s(7)));
    assert_eq!(sch.start(s(7)), Some(Scope::Touched(paths(&["a"]))));
    sch.finished(s(7), Outcome::Failed);
    assert_eq!(sch.next_due(), Some(s(17)), "doubled");
    // An edit meanwhile does not skip the backoff.
    sch.local_changed(s(8), paths(&["b"]));
    assert_eq!(sch.next_due(), Some(s(17)));
    assert_eq!(sch.start(s(17)), Some(Scope::Touched(paths(&["a", "b"]))));
    sch.finished(s(17), Outcome::Done { changed: true });
    assert_eq!(sch.next_due(), Some(s(19)), "backoff reset");
}

#[test]
fn the_backoff_is_capped() {
    let mut sch = started();
    let mut now = s(0);
    for _ in 0..20 {
        now = sch.next_due().unwrap();
        sch.start(now).unwrap();
        sch.finished(now, Outcome::Failed);
    }
    assert_eq!(sch.next_due(), Some(now + s(300)));
}

#[test]
fn a_blocked_pair_holds_with_its_reason_and_resumes_by_itself() {
    let mut sch = started();
    assert!(sch.start(s(15)).is_some());
    sch.finished(s(15), Outcome::Blocked(Blocker::FolderMissing));
    assert!(matches!(
        sch.held(),
        Some(Held::Blocked { blocker: Blocker::FolderMissing, retry_at }) if *retry_at == s(25)
    ));
    sch.local_changed(s(16), paths(&["x"]));
    assert_eq!(
        sch.next_due(),
        Some(s(25)),
        "events do not wake a blocked pair"
    );
    assert!(sch.start(s(25)).is_some(), "re-checked");
    sch.finished(s(25), Outcome::Done { changed: false });
    assert_eq!(sch.held(), None);
}

#[test]
fn pause_stops_everything_and_resume_runs_a_full_sync() {
    let mut sch = started();
    sch.pause();
    sch.local_changed(s(1), paths(&["a"]));
    assert_eq!(sch.next_due(), None);
    assert_eq!(sch.start(s(100)), None);
    sch.resume(s(100));
    assert_eq!(sch.start(s(100)), Some(Scope::Full));
}

#[test]
fn a_pause_during_a_blocked_state_stays_a_pause() {
    let mut sch = started();
    sch.start(s(15)).unwrap();
    sch.pause();
    sch.finished(s(15), Outcome::Blocked(Blocker::SignIn));
    assert_eq!(sch.held(), Some(&Held::ByUser));
}

#[test]
fn sync_now_skips_waiting_and_backoff() {
    let mut sch = started();
    sch.start(s(15)).unwrap();
    sch.finished(s(15), Outcome::Failed);
    sch.sync_now(s(16));
    assert_eq!(sch.start(s(16)), Some(Scope::Full));
}

#[test]
fn a_lost_watch_means_a_full_rescan_and_degraded_watching_rescans_often() {
    let mut sch = started();
    sch.rescan(s(3));
    assert_eq!(sch.start(ms(3400)), Some(Scope::Full));
    sch.finished(s(4), Outcome::Done { changed: false });
    sch.set_degraded(s(4), true);
    assert_eq!(sch.start(s(19)), Some(Scope::Touched(BTreeSet::new())));
    sch.finished(s(19), Outcome::Done { changed: false });
    assert_eq!(
        sch.start(s(64)),
        Some(Scope::Full),
        "every 60 s while degraded"
    );
}

#[test]
fn the_safety_net_rescan_runs_hourly() {
    let mut sch = started();
    let mut now = s(0);
    let mut fulls = 0;
    while now < s(3600 * 3) {
        now = sch.next_due().unwrap();
        if sch.start(now) == Some(Scope::Full) {
            fulls += 1;
        }
        sch.finished(now, Outcome::Done { changed: false });
    }
    assert_eq!(fulls, 3);
}
