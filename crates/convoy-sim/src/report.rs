//! What a simulation reports. Times are seconds from the start of the run,
//! sizes bytes, rates on the WAN bits/s. Everything serializes to JSON
//! deterministically (fields in declaration order, VMs in scenario order).

use serde::{Deserialize, Serialize};

use crate::input::Side;

/// A stage of one live migration, for Gantt charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Bulk copy of the disk (QEMU `drive-mirror`), before the memory.
    Disk,
    /// Pre-copy rounds of memory while the guest runs.
    Precopy,
    /// The guest is paused; the last dirty pages are sent.
    StopAndCopy,
    /// The guest is paused; one round trip hands it over to the destination.
    Switchover,
}

/// One stage's interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Which stage.
    pub stage: Stage,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

/// How a migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The remaining dirty memory fitted the downtime limit; the VM moved.
    Converged,
    /// It never fitted within the round limit; the guest was paused and the
    /// rest copied anyway (downtime over the limit). The VM moved.
    Forced,
    /// It never fitted within the round limit and was cancelled; the VM
    /// stayed at the source.
    Aborted,
}

/// One VM's move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// When the move took a slot and began sending, seconds.
    pub start_s: f64,
    /// When it ended (VM resumed at the destination, or migration cancelled), seconds.
    pub end_s: f64,
    /// How it ended.
    pub outcome: Outcome,
    /// True when the switchover was decided by the downtime limit
    /// (`outcome == Converged`).
    pub converged: bool,
    /// Time the guest was paused: stop-and-copy plus one RTT, seconds (0 when aborted).
    pub downtime_s: f64,
    /// QEMU's expected downtime when it decided to switch over: remaining
    /// dirty bytes / measured rate, seconds (`None` when aborted). At most
    /// the limit when converged; the actual stop-and-copy can take longer if
    /// the link's share drops meanwhile.
    pub expected_downtime_s: Option<f64>,
    /// Pre-copy rounds run (the first sends all memory).
    pub rounds: u32,
    /// Auto-converge throttle at the end, fraction of CPU time taken from the guest.
    pub final_throttle: f64,
    /// Disk bytes copied.
    pub disk_bytes: f64,
    /// Memory bytes sent, over all rounds and the stop-and-copy.
    pub memory_bytes: f64,
    /// Bytes the source put on the WAN for this move (rate × time, integrated).
    pub bytes_sent: f64,
    /// Bytes the destination took in (the sizes of the completed transfers).
    pub bytes_received: f64,
    /// Stages in time order, for a Gantt chart.
    pub spans: Vec<Span>,
}

/// One VM at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmReport {
    /// Name.
    pub name: String,
    /// Where it started.
    pub start_site: Side,
    /// Where it runs when the run ends.
    pub final_site: Side,
    /// Its move, if the schedule had one.
    pub migration: Option<MigrationReport>,
}

/// The WAN's load from `t_s` until the next point (a step function; the last
/// point, at the completion time, is zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPoint {
    /// Time, seconds.
    pub t_s: f64,
    /// Migration traffic, bits/s.
    pub migration_bps: f64,
    /// Application traffic carried (stretched conversations), bits/s.
    pub app_bps: f64,
}

/// The WAN's mean load over one time bin (see [`Report::load_bins`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBin {
    /// Bin start, seconds.
    pub start_s: f64,
    /// Bin end, seconds.
    pub end_s: f64,
    /// Mean migration traffic, bits/s.
    pub migration_bps: f64,
    /// Mean application traffic, bits/s.
    pub app_bps: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run's seed.
    pub seed: u64,
    /// When the last move ended, seconds (0 for an empty schedule).
    pub completion_s: f64,
    /// Moves that ended with the VM at the destination.
    pub moved: usize,
    /// Moves that converged within the downtime limit.
    pub converged: usize,
    /// Moves forced through after not converging.
    pub forced: usize,
    /// Moves cancelled after not converging (VM still at the source).
    pub aborted: usize,
    /// Longest downtime of any move, seconds.
    pub max_downtime_s: f64,
    /// Sum of the moves' downtimes, seconds.
    pub total_downtime_s: f64,
    /// Migration bytes on the WAN (disk, every pre-copy round, stop-and-copy).
    pub wan_migration_bytes: f64,
    /// Application bytes carried by the WAN (stretched conversations, after
    /// fair sharing; at most `weighted_stretch_bytes` × the forward share).
    pub wan_app_bytes: f64,
    /// Σ over conversations of the seconds their ends spent at different
    /// sites, over [0, completion].
    pub stretched_edge_seconds: f64,
    /// Σ over conversations of bytes/s × seconds stretched: the application
    /// bytes that had to cross the WAN (demand, both directions).
    pub weighted_stretch_bytes: f64,
    /// Highest total WAN load (migration + application), bits/s.
    pub peak_wan_bps: f64,
    /// Extra waiting of stretched requests: Σ requests/s × RTT × seconds
    /// stretched, over the conversations with a known request rate (seconds
    /// of waiting summed over requests).
    pub latency_penalty_s: f64,
    /// Requests that crossed the WAN (same conversations), count.
    pub stretched_requests: f64,
    /// Conversations stretched when the run starts.
    pub stretched_at_start: usize,
    /// Conversations stretched when it ends.
    pub stretched_at_end: usize,
    /// The moves in the order they started (VM names).
    pub order: Vec<String>,
    /// Every VM of the scenario, in its order.
    pub vms: Vec<VmReport>,
    /// WAN load over time (step function).
    pub load: Vec<LoadPoint>,
}

impl Report {
    /// Mean WAN load in `bins` equal bins over [0, completion] (exact
    /// integrals of the step function), for charts. Empty when `bins` is 0
    /// or the run took no time.
    pub fn load_bins(&self, bins: usize) -> Vec<LoadBin> {
        if bins == 0 || self.completion_s <= 0.0 {
            return Vec::new();
        }
        let width = self.completion_s / bins as f64;
        let mut out: Vec<LoadBin> = (0..bins)
            .map(|i| LoadBin {
                start_s: i as f64 * width,
                end_s: if i + 1 == bins {
                    self.completion_s
                } else {
                    (i + 1) as f64 * width
                },
                migration_bps: 0.0,
                app_bps: 0.0,
            })
            .collect();
        for w in self.load.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let first = ((a.t_s / width) as usize).min(bins - 1);
            for bin in out.iter_mut().skip(first) {
                if bin.start_s >= b.t_s {
                    break;
                }
                let overlap = b.t_s.min(bin.end_s) - a.t_s.max(bin.start_s);
                if overlap > 0.0 {
                    bin.migration_bps += a.migration_bps * overlap;
                    bin.app_bps += a.app_bps * overlap;
                }
            }
        }
        for bin in &mut out {
            let w = bin.end_s - bin.start_s;
            if w > 0.0 {
                bin.migration_bps /= w;
                bin.app_bps /= w;
            }
        }
        out
    }
}
