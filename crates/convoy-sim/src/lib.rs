//! convoy's simulator: what a migration plan will cost before anyone runs it.
//!
//! Two sites joined by a WAN (capacity, RTT, loss); VMs with memory, disk and
//! a dirty rate; live migration modelled as QEMU runs it (disk mirror, then
//! pre-copy rounds until the remaining dirty memory fits the downtime limit,
//! then stop-and-copy; auto-converge throttling); concurrent moves sharing the
//! link max-min fairly with the application conversations that the plan
//! stretches across it. [`simulate`] runs a [`Schedule`] on a [`Scenario`]
//! and returns a [`Report`]: completion time, per-VM timings and downtime,
//! bytes on the WAN, stretch metrics, peak load, latency penalty, and the
//! WAN load over time.
//!
//! ```
//! use convoy_sim::{simulate, NoProgress, Scenario, Schedule, Side, SimConfig, SimVm, Wan};
//!
//! let vm = |name: &str| SimVm {
//!     name: name.into(),
//!     memory_mib: 4096,
//!     disk_gib: 0,
//!     dirty_mib_per_s: Some(0.0),
//!     start: Side::Source,
//!     pinned: false,
//! };
//! let scenario = Scenario { vms: vec![vm("a"), vm("b")], conversations: vec![] };
//! let config = SimConfig::new("1Gbit/s,40ms".parse::<Wan>().unwrap());
//! let report = simulate(&scenario, &Schedule::from_order(vec![0, 1], 1), &config, &mut NoProgress)
//!     .unwrap();
//! // 2 × 4 GiB at 1 Gbit/s, plus one RTT per switchover.
//! let expected = 2.0 * (4096.0 * 1048576.0 * 8.0 / 1e9 + 0.04);
//! assert!((report.completion_s - expected).abs() < 1e-9);
//! ```
//!
//! Pure: no I/O, no clock; the only randomness (dirty-rate jitter, off by
//! default) comes from the configured seed.

#![warn(missing_docs)]

mod engine;
mod error;
mod fair;
mod input;
mod report;
mod rng;

pub use engine::{
    simulate, simulate_online, Chooser, ChooserView, NoProgress, Progress, ProgressInfo,
};
pub use error::SimError;
pub use input::{
    parse_rate, Conversation, Endpoint, ExternalPeers, MigrationSettings, NonConvergence, Scenario,
    Schedule, Side, SimConfig, SimVm, Wan, DEFAULT_DIRTY_MIB_PER_S, GIB, MIB,
};
pub use report::{LoadBin, LoadPoint, MigrationReport, Outcome, Report, Span, Stage, VmReport};
