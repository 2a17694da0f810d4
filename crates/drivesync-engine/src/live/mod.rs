//! Continuous sync: the pure [`Schedule`] that decides when a pair syncs and how much it
//! re-reads, and the runner that feeds it watcher events, timers and user commands.

mod run;
mod schedule;

pub use run::{outcome_of, run_pair, Command, PairState, PairStatus};
pub use schedule::{Held, Outcome, Schedule, Scope, Timing};
