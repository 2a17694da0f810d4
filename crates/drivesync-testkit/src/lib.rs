//! drivesync's randomized reliability test (targets R1-R3 in `shared/targets.md`), in two
//! levels that share one generator and one reference model:
//!
//! 1. **Deterministic simulation** ([`sim`]): the whole engine over the fakes (`MemRemote`
//!    behind `FaultyRemote`, `MemFs`), time passed in, seeded; the same seed gives the same
//!    trace. `tests/sim.rs` runs it in CI; `cargo run -p drivesync-testkit --release --bin
//!    sim -- --cases N` runs more.
//! 2. **The real thing**: the `drivesync` binary on a real disk against `drive-emulator`,
//!    with emulator faults and SIGKILL (`crates/drivesync-cli/tests/random.rs`), reusing
//!    [`gen`], [`apply`] ([`apply::RealDisk`]) and [`model`].
//!
//! The pieces:
//!
//! * [`gen`]: the seeded generator of [`gen::Step`]s (changes on both sides as data, and
//!   syncs with faults, crashes, and changes made while they run); [`script`]: steps as
//!   text, for reproductions and regression tests.
//! * [`apply`]: carrying out steps on a [`apply::Disk`] (`MemFs` or a real folder) and on
//!   Drive through the `RemoteStore` API.
//! * [`model`]: the no-data-loss reference model (its rules are in the module docs).
//! * [`check`]: the end-state checks (identical sides, no duplicates on Drive).
//! * [`sim`]: level 1: [`sim::run_case`], [`sim::run_steps`], [`sim::shrink`].

pub mod apply;
pub mod check;
pub mod gen;
pub mod model;
pub mod script;
pub mod sim;

pub use gen::{Gen, GenConfig, LocalOp, RemoteOp, Step, SyncSpec, View};
pub use sim::{run_case, run_steps, shrink, Failure, FailureKind, SimConfig, Stats, Trace};
