//! What a simulation is given: the WAN, the migration settings, the VMs and
//! their traffic (the [`Scenario`]), and the order of moves (the [`Schedule`]).
//!
//! Units are spelled in every field name's documentation; sizes follow the
//! inventory (MiB, GiB, MiB/s), rates on the wire are bits per second like a
//! link's datasheet, application traffic is bytes per second like the graph.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use convoy_model::{Graph, Inventory, SiteKind};
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Bytes in a MiB.
pub const MIB: f64 = 1024.0 * 1024.0;
/// Bytes in a GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The dirty rate assumed for a VM whose inventory entry has none, MiB/s.
///
/// A modest server workload: Clark et al., "Live Migration of Virtual
/// Machines" (NSDI 2005), measured writable working sets of a few to a few
/// tens of MiB/s for web and database servers; idle guests dirty far less.
/// Override it per run with [`MigrationSettings::default_dirty_mib_per_s`].
pub const DEFAULT_DIRTY_MIB_PER_S: f64 = 10.0;

/// One end of the WAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Where the moves start (the private data centre when moving to the cloud).
    Source,
    /// Where the moves go.
    Destination,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Destination,
            Side::Destination => Side::Source,
        }
    }
}

/// The link between the two sites.
///
/// Modelled as one pipe of `capacity_bps` in the direction of the moves,
/// shared max-min fairly by the migration streams and the stretched
/// application conversations (see [`crate::simulate`]). Packet loss caps
/// each TCP stream at the bound of Mathis, Semke, Mahdavi and Ott, "The
/// Macroscopic Behavior of the TCP Congestion Avoidance Algorithm" (CCR 27(3),
/// 1997): `rate ≤ (MSS / RTT) · √(3/2) / √loss`. The bound needs both a loss
/// and an RTT; with either at zero a stream is limited by its share alone.
/// Windows are assumed tuned (no receive-window cap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wan {
    /// Capacity in the direction of the moves, bits/s. Must be > 0.
    pub capacity_bps: f64,
    /// Round-trip time, seconds.
    pub rtt_s: f64,
    /// Packet loss fraction in [0, 1): 0.001 is 0.1 %.
    #[serde(default)]
    pub loss: f64,
    /// TCP maximum segment size, bytes (1460 on a 1500-byte MTU).
    #[serde(default = "default_mss")]
    pub mss_bytes: f64,
}

fn default_mss() -> f64 {
    1460.0
}

impl Wan {
    /// A loss-free WAN of `capacity_bps` bits/s and `rtt_s` seconds round trip.
    pub fn new(capacity_bps: f64, rtt_s: f64) -> Wan {
        Wan {
            capacity_bps,
            rtt_s,
            loss: 0.0,
            mss_bytes: default_mss(),
        }
    }

    /// The Mathis et al. (1997) throughput bound of one TCP stream, bytes/s
    /// (`f64::INFINITY` when the loss or the RTT is zero).
    pub fn stream_cap_bytes_per_s(&self) -> f64 {
        if self.loss > 0.0 && self.rtt_s > 0.0 {
            (self.mss_bytes / self.rtt_s) * 1.5f64.sqrt() / self.loss.sqrt()
        } else {
            f64::INFINITY
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        if !(self.capacity_bps.is_finite() && self.capacity_bps > 0.0) {
            return Err(SimError::input(format!(
                "WAN capacity must be a positive number of bits/s, found {}",
                self.capacity_bps
            )));
        }
        if !(self.rtt_s.is_finite() && self.rtt_s >= 0.0) {
            return Err(SimError::input(format!(
                "WAN RTT must be a non-negative number of seconds, found {}",
                self.rtt_s
            )));
        }
        if !(self.loss.is_finite() && (0.0..1.0).contains(&self.loss)) {
            return Err(SimError::input(format!(
                "WAN loss must be a fraction in [0, 1), found {}",
                self.loss
            )));
        }
        if !(self.mss_bytes.is_finite() && self.mss_bytes > 0.0) {
            return Err(SimError::input(format!(
                "MSS must be a positive number of bytes, found {}",
                self.mss_bytes
            )));
        }
        Ok(())
    }
}

impl fmt::Display for Wan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}bit/s,{}ms",
            format_si(self.capacity_bps),
            tidy(self.rtt_s * 1000.0)
        )?;
        if self.loss > 0.0 {
            write!(f, ",{}%", tidy(self.loss * 100.0))?;
        }
        Ok(())
    }
}

/// Rounds away the binary residue of a unit conversion (0.01 % is stored as
/// 0.0001, which times 100 prints as 0.009999…).
fn tidy(v: f64) -> f64 {
    let scale = 1e9;
    (v * scale).round() / scale
}

fn format_si(v: f64) -> String {
    for (factor, prefix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if v >= factor {
            return format!("{}{}", tidy(v / factor), prefix);
        }
    }
    format!("{v}")
}

/// Parses `RATE,RTT[,LOSS]`, e.g. `1Gbit/s,40ms` or `500Mbps,80ms,0.01%`.
///
/// RATE: a number with `bit/s`, `kbit/s`, `Mbit/s`, `Gbit/s`, `Tbit/s` (or
/// `bps`, `kbps`, `Mbps`, `Gbps`, `Tbps`; decimal prefixes as link rates are
/// quoted). RTT: a number with `us`, `ms` or `s`. LOSS: a fraction (`0.001`)
/// or a percentage (`0.1%`).
impl FromStr for Wan {
    type Err = String;

    fn from_str(s: &str) -> Result<Wan, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(format!(
                "expected RATE,RTT[,LOSS] such as 1Gbit/s,40ms, found {s:?}"
            ));
        }
        let capacity_bps = parse_rate(parts[0])?;
        let rtt_s = parse_duration(parts[1])?;
        let loss = match parts.get(2) {
            None => 0.0,
            Some(p) => parse_loss(p)?,
        };
        let wan = Wan {
            capacity_bps,
            rtt_s,
            loss,
            mss_bytes: default_mss(),
        };
        wan.validate().map_err(|e| e.to_string())?;
        Ok(wan)
    }
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '-'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    (num.trim(), unit.trim())
}

/// Parses a link rate such as `1Gbit/s`, `100Mbps` or `100mbit` (tc's spelling)
/// into bits per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let (num, unit) = split_number(s);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a link rate such as 1Gbit/s, found {s:?}"))?;
    let factor = match unit {
        "bit/s" | "bps" | "b/s" | "bit" => 1.0,
        "kbit/s" | "Kbit/s" | "kbps" | "Kbps" | "kbit" => 1e3,
        "Mbit/s" | "mbit/s" | "Mbps" | "mbps" | "mbit" | "Mbit" => 1e6,
        "Gbit/s" | "gbit/s" | "Gbps" | "gbps" | "gbit" | "Gbit" => 1e9,
        "Tbit/s" | "tbit/s" | "Tbps" | "tbps" | "tbit" | "Tbit" => 1e12,
        _ => {
            return Err(format!(
                "expected a link rate unit (bit/s, kbit/s, Mbit/s, Gbit/s, Tbit/s), found {s:?}"
            ))
        }
    };
    Ok(v * factor)
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let (num, unit) = split_number(s);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a round-trip time such as 40ms, found {s:?}"))?;
    let factor = match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => {
            return Err(format!(
                "expected a round-trip time unit (us, ms, s), found {s:?}"
            ))
        }
    };
    Ok(v * factor)
}

fn parse_loss(s: &str) -> Result<f64, String> {
    let (num, pct) = match s.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (s, false),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a loss such as 0.1% or 0.001, found {s:?}"))?;
    Ok(if pct { v / 100.0 } else { v })
}

/// What happens to a VM whose pre-copy never gets its remaining dirty memory
/// under the downtime limit within [`MigrationSettings::max_rounds`] rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonConvergence {
    /// Pause the guest and copy what is left, however long it takes (libvirt's
    /// `virsh migrate --timeout N --timeout-suspend`): the VM moves, with a
    /// downtime over the limit, and the report says it did not converge.
    ForceSwitchover,
    /// Cancel the migration: the VM keeps running at the source (OpenStack
    /// Nova's default `live_migration_timeout_action = abort`).
    Abort,
}

/// How each live migration is run; the defaults are QEMU's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationSettings {
    /// Longest pause of the guest the switchover may cause, seconds (QEMU's
    /// `downtime-limit`, default 300 ms). Pre-copy stops when the remaining
    /// dirty memory can be sent within it at the measured rate.
    pub downtime_limit_s: f64,
    /// Cap on one migration's rate, bits/s (QEMU's `max-bandwidth`); `None`
    /// for none.
    pub max_bandwidth_bps: Option<f64>,
    /// TCP streams per migration (QEMU's `multifd-channels` when multifd is
    /// on; 1 otherwise). A migration's fair share and loss cap scale with it.
    pub streams: u32,
    /// Auto-converge: throttle the guest's vCPUs while the migration does not
    /// converge (QEMU's `auto-converge` capability).
    pub auto_converge: bool,
    /// First throttle, fraction of CPU time taken from the guest (QEMU's
    /// `cpu-throttle-initial`, 20 %).
    pub throttle_initial: f64,
    /// Throttle added at each further trigger (`cpu-throttle-increment`, 10 %).
    pub throttle_increment: f64,
    /// Highest throttle (`max-cpu-throttle`, 99 %).
    pub throttle_max: f64,
    /// Auto-converge triggers when the bytes dirtied in a sync period exceed
    /// this fraction of the bytes sent in it (`throttle-trigger-threshold`, 50 %)
    /// for the second time since the last trigger.
    pub throttle_trigger_threshold: f64,
    /// Pre-copy rounds after which a migration that still does not fit the
    /// downtime limit is declared non-converging (1..=10000).
    pub max_rounds: u32,
    /// What happens then.
    pub on_non_convergence: NonConvergence,
    /// Dirty rate of a VM whose inventory gives none, MiB/s.
    pub default_dirty_mib_per_s: f64,
    /// The guest's writable working set, fraction of its memory in (0, 1]:
    /// the pages its writes land on. Writes fall uniformly at random on it,
    /// so after writing x bytes the distinct dirty bytes are
    /// `W (1 − e^(−x/W))` (W = fraction × memory): about x while x ≪ W, never
    /// more than W. 1 (the default) spreads writes over all memory.
    pub working_set_fraction: f64,
    /// Coefficient of variation of the dirty rate from one pre-copy round to
    /// the next (log-normal, mean 1; drawn from the run's seed). 0 keeps the
    /// dirty rate constant and the run independent of the seed.
    pub dirty_jitter: f64,
    /// Share of an application conversation's bytes that travel in the
    /// direction of the moves, in [0, 1]. 1 (the default) counts all of it
    /// against the migrations' direction, which is conservative when the
    /// graph's weights carry no direction.
    pub app_share_forward: f64,
    /// Fraction of the WAN capacity guaranteed to the running migrations
    /// together, in [0, 1] (a QoS class for migration traffic). 0, the
    /// default, leaves them to plain max-min fairness with the conversations:
    /// when stretched traffic alone saturates the link, a migration's TCP
    /// streams get one fair share each and the moves crawl.
    pub reserved_share: f64,
}

impl Default for MigrationSettings {
    fn default() -> Self {
        MigrationSettings {
            downtime_limit_s: 0.3,
            max_bandwidth_bps: None,
            streams: 1,
            auto_converge: true,
            throttle_initial: 0.20,
            throttle_increment: 0.10,
            throttle_max: 0.99,
            throttle_trigger_threshold: 0.5,
            max_rounds: 30,
            on_non_convergence: NonConvergence::ForceSwitchover,
            default_dirty_mib_per_s: DEFAULT_DIRTY_MIB_PER_S,
            working_set_fraction: 1.0,
            dirty_jitter: 0.0,
            app_share_forward: 1.0,
            reserved_share: 0.0,
        }
    }
}

impl MigrationSettings {
    fn validate(&self) -> Result<(), SimError> {
        let frac = |name: &str, v: f64, lo_open: bool| -> Result<(), SimError> {
            let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
            if ok {
                Ok(())
            } else {
                Err(SimError::input(format!(
                    "{name} must be a fraction in {}0, 1], found {v}",
                    if lo_open { "(" } else { "[" }
                )))
            }
        };
        if !(self.downtime_limit_s.is_finite() && self.downtime_limit_s > 0.0) {
            return Err(SimError::input(format!(
                "downtime limit must be a positive number of seconds, found {}",
                self.downtime_limit_s
            )));
        }
        if let Some(b) = self.max_bandwidth_bps {
            if !(b.is_finite() && b > 0.0) {
                return Err(SimError::input(format!(
                    "max bandwidth must be a positive number of bits/s, found {b}"
                )));
            }
        }
        if self.streams == 0 {
            return Err(SimError::input("a migration needs at least one stream"));
        }
        frac("throttle_initial", self.throttle_initial, false)?;
        frac("throttle_increment", self.throttle_increment, false)?;
        frac("throttle_max", self.throttle_max, false)?;
        frac(
            "throttle_trigger_threshold",
            self.throttle_trigger_threshold,
            true,
        )?;
        frac("app_share_forward", self.app_share_forward, false)?;
        frac("reserved_share", self.reserved_share, false)?;
        frac("working_set_fraction", self.working_set_fraction, true)?;
        if !(1..=10_000).contains(&self.max_rounds) {
            return Err(SimError::input(format!(
                "max_rounds must be in 1..=10000, found {}",
                self.max_rounds
            )));
        }
        if !(self.default_dirty_mib_per_s.is_finite() && self.default_dirty_mib_per_s >= 0.0) {
            return Err(SimError::input(format!(
                "default dirty rate must be a non-negative number of MiB/s, found {}",
                self.default_dirty_mib_per_s
            )));
        }
        if !(self.dirty_jitter.is_finite() && self.dirty_jitter >= 0.0) {
            return Err(SimError::input(format!(
                "dirty jitter must be a non-negative number, found {}",
                self.dirty_jitter
            )));
        }
        Ok(())
    }
}

/// The run's settings: link, migration parameters and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// The WAN.
    pub wan: Wan,
    /// How live migrations run.
    #[serde(default)]
    pub migration: MigrationSettings,
    /// Seed of the run's randomness (the dirty-rate jitter).
    #[serde(default)]
    pub seed: u64,
}

impl SimConfig {
    /// QEMU's default migration settings over `wan`, seed 0.
    pub fn new(wan: Wan) -> SimConfig {
        SimConfig {
            wan,
            migration: MigrationSettings::default(),
            seed: 0,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        self.wan.validate()?;
        self.migration.validate()
    }
}

/// A VM as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimVm {
    /// Name (for the report).
    pub name: String,
    /// Guest memory, MiB.
    pub memory_mib: u64,
    /// Disk copied before the memory when the VM moves, GiB (0 for shared storage).
    #[serde(default)]
    pub disk_gib: u64,
    /// Rate at which the running guest dirties memory, MiB/s; `None` uses
    /// [`MigrationSettings::default_dirty_mib_per_s`].
    #[serde(default)]
    pub dirty_mib_per_s: Option<f64>,
    /// Where it runs when the simulation starts.
    pub start: Side,
    /// A pinned VM never moves.
    #[serde(default)]
    pub pinned: bool,
}

/// One end of an application conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// A VM of the scenario, by index into [`Scenario::vms`].
    Vm(usize),
    /// A peer outside the inventory that stays at one site (a SaaS endpoint
    /// already in the cloud, an appliance that stays on premise).
    Fixed(Side),
}

/// An application conversation between two endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    /// One end.
    pub a: Endpoint,
    /// The other end.
    pub b: Endpoint,
    /// Traffic in both directions together, bytes/s (the graph's edge weight).
    pub bytes_per_s: f64,
    /// Requests per second, when known: each one that crosses the WAN waits
    /// one extra RTT (the latency penalty). `None` leaves the conversation out
    /// of the latency penalty.
    #[serde(default)]
    pub requests_per_s: Option<f64>,
}

/// The VMs and the conversations between them and with fixed peers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The VMs.
    pub vms: Vec<SimVm>,
    /// The application conversations.
    pub conversations: Vec<Conversation>,
}

/// Where the graph's vertices that are not VMs of the inventory stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalPeers {
    /// Side of a peer not listed in `pinned` (normally [`Side::Source`]:
    /// what is not in the inventory is not being moved).
    pub default: Side,
    /// Peers pinned at a given side, by vertex name.
    pub pinned: BTreeMap<String, Side>,
}

impl Default for ExternalPeers {
    fn default() -> Self {
        ExternalPeers {
            default: Side::Source,
            pinned: BTreeMap::new(),
        }
    }
}

impl Scenario {
    /// Builds the scenario from an inventory and a communication graph.
    ///
    /// The VMs are the inventory's, in its order (so [`Schedule`] indices are
    /// inventory positions); a VM in a `cloud` site starts at the destination,
    /// any other at the source. Graph vertices that name no VM are external
    /// peers, placed by `peers`. Edge weights are bytes/s; `requests_per_s`
    /// gives request rates for some edges, keyed by the two vertex names in
    /// either order.
    pub fn from_inventory(
        inventory: &Inventory,
        graph: &Graph,
        peers: &ExternalPeers,
        requests_per_s: &BTreeMap<(String, String), f64>,
    ) -> Scenario {
        let cloud_sites: std::collections::HashSet<&str> = inventory
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::Cloud)
            .map(|s| s.name.as_str())
            .collect();
        let vms: Vec<SimVm> = inventory
            .vms
            .iter()
            .map(|v| SimVm {
                name: v.name.clone(),
                memory_mib: v.memory_mib,
                disk_gib: v.disk_gib,
                dirty_mib_per_s: v.dirty_mib_per_s,
                start: if cloud_sites.contains(v.site.as_str()) {
                    Side::Destination
                } else {
                    Side::Source
                },
                pinned: v.pinned,
            })
            .collect();
        let by_name: std::collections::HashMap<&str, usize> = inventory
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), i))
            .collect();
        let endpoint = |name: &str| match by_name.get(name) {
            Some(&i) => Endpoint::Vm(i),
            None => Endpoint::Fixed(*peers.pinned.get(name).unwrap_or(&peers.default)),
        };
        let conversations = graph
            .edges()
            .map(|(u, v, w)| {
                let (a, b) = (graph.name(u), graph.name(v));
                let rate = requests_per_s
                    .get(&(a.to_owned(), b.to_owned()))
                    .or_else(|| requests_per_s.get(&(b.to_owned(), a.to_owned())))
                    .copied();
                Conversation {
                    a: endpoint(a),
                    b: endpoint(b),
                    bytes_per_s: w,
                    requests_per_s: rate,
                }
            })
            .collect();
        Scenario { vms, conversations }
    }

    /// Index of the VM called `name`.
    pub fn vm_index(&self, name: &str) -> Option<usize> {
        self.vms.iter().position(|v| v.name == name)
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        for v in &self.vms {
            if let Some(d) = v.dirty_mib_per_s {
                if !(d.is_finite() && d >= 0.0) {
                    return Err(SimError::input(format!(
                        "VM {:?}: dirty rate must be a non-negative number of MiB/s, found {d}",
                        v.name
                    )));
                }
            }
        }
        let n = self.vms.len();
        for (i, c) in self.conversations.iter().enumerate() {
            for e in [c.a, c.b] {
                if let Endpoint::Vm(v) = e {
                    if v >= n {
                        return Err(SimError::input(format!(
                            "conversation {i} names VM index {v}, but there are {n} VMs"
                        )));
                    }
                }
            }
            if !(c.bytes_per_s.is_finite() && c.bytes_per_s >= 0.0) {
                return Err(SimError::input(format!(
                    "conversation {i}: traffic must be a non-negative number of bytes/s, found {}",
                    c.bytes_per_s
                )));
            }
            if let Some(r) = c.requests_per_s {
                if !(r.is_finite() && r >= 0.0) {
                    return Err(SimError::input(format!(
                        "conversation {i}: request rate must be a non-negative number, found {r}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The order of the moves: waves run one after the other; within a wave the
/// VMs start in order, at most `concurrency` at a time, the next one as soon
/// as a running move ends (its slot frees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Waves of VM indices into [`Scenario::vms`]; a wave starts when every
    /// move of the previous one has ended.
    pub waves: Vec<Vec<usize>>,
    /// Most moves running at once (K ≥ 1).
    pub concurrency: usize,
}

impl Schedule {
    /// One wave: the VMs in `order`, `concurrency` at a time.
    pub fn from_order(order: Vec<usize>, concurrency: usize) -> Schedule {
        Schedule {
            waves: vec![order],
            concurrency,
        }
    }

    /// One wave from VM names (a plan's `order`); errors on an unknown name.
    pub fn from_names<S: AsRef<str>>(
        scenario: &Scenario,
        names: &[S],
        concurrency: usize,
    ) -> Result<Schedule, SimError> {
        let index: std::collections::HashMap<&str, usize> = scenario
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.as_str(), i))
            .collect();
        let order = names
            .iter()
            .map(|n| {
                index.get(n.as_ref()).copied().ok_or_else(|| {
                    SimError::input(format!(
                        "the plan names VM {:?}, which is not in the inventory",
                        n.as_ref()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schedule::from_order(order, concurrency))
    }

    pub(crate) fn validate(&self, scenario: &Scenario) -> Result<(), SimError> {
        if self.concurrency == 0 {
            return Err(SimError::input("concurrency must be at least 1"));
        }
        let mut seen = vec![false; scenario.vms.len()];
        for &v in self.waves.iter().flatten() {
            let Some(vm) = scenario.vms.get(v) else {
                return Err(SimError::input(format!(
                    "the schedule names VM index {v}, but there are {} VMs",
                    scenario.vms.len()
                )));
            };
            if std::mem::replace(&mut seen[v], true) {
                return Err(SimError::input(format!(
                    "VM {:?} appears twice in the schedule",
                    vm.name
                )));
            }
            if vm.pinned {
                return Err(SimError::input(format!(
                    "VM {:?} is pinned and cannot move",
                    vm.name
                )));
            }
            if vm.start != Side::Source {
                return Err(SimError::input(format!(
                    "VM {:?} is already at the destination",
                    vm.name
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan_parses_rates_rtts_and_losses() {
        let w: Wan = "1Gbit/s,40ms".parse().unwrap();
        assert_eq!(w.capacity_bps, 1e9);
        assert!((w.rtt_s - 0.04).abs() < 1e-15);
        assert_eq!(w.loss, 0.0);
        let w: Wan = "500Mbps, 80ms, 0.01%".parse().unwrap();
        assert_eq!(w.capacity_bps, 5e8);
        assert!((w.loss - 1e-4).abs() < 1e-18);
        let w: Wan = "10Gbit/s,1s,0.002".parse().unwrap();
        assert_eq!(w.rtt_s, 1.0);
        assert_eq!(w.loss, 0.002);
        assert!("1Gbit/s".parse::<Wan>().is_err());
        assert!("1Gbyte/s,40ms".parse::<Wan>().is_err());
        assert!("0Gbit/s,40ms".parse::<Wan>().is_err());
        assert!("1Gbit/s,40ms,100%".parse::<Wan>().is_err());
        for s in ["1Gbit/s,40ms", "100Mbit/s,150ms,0.01%", "2.5Gbit/s,0.5ms"] {
            assert_eq!(s.parse::<Wan>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn mathis_bound() {
        let mut w = Wan::new(1e9, 0.04);
        assert!(w.stream_cap_bytes_per_s().is_infinite());
        w.loss = 1e-4;
        // 1460 B / 40 ms × 1.2247 / 0.01 ≈ 4.47 MB/s ≈ 35.8 Mbit/s.
        let cap = w.stream_cap_bytes_per_s();
        assert!((cap - 1460.0 / 0.04 * 1.5f64.sqrt() * 100.0).abs() < 1e-6);
        assert!((cap * 8.0 / 1e6 - 35.77).abs() < 0.01);
    }

    #[test]
    fn scenario_from_inventory_and_graph() {
        let inv = convoy_model::parse_inventory_toml(
            r#"
[[sites]]
name = "dc"
kind = "private"
[[sites]]
name = "aws"
kind = "cloud"
[[nodes]]
name = "n1"
site = "dc"
[[nodes]]
name = "c1"
site = "aws"
[[vms]]
name = "web"
site = "dc"
node = "n1"
memory_mib = 4096
disk_gib = 20
dirty_mib_per_s = 12.5
[[vms]]
name = "db"
site = "aws"
node = "c1"
memory_mib = 8192
[[vms]]
name = "ldap"
site = "dc"
node = "n1"
memory_mib = 1024
pinned = true
"#,
            std::path::Path::new("i.toml"),
        )
        .unwrap();
        let mut b = convoy_model::GraphBuilder::new();
        b.add_edge("web", "db", 1e6).unwrap();
        b.add_edge("web", "saas", 2e5).unwrap();
        b.add_edge("ldap", "dns", 10.0).unwrap();
        let g = b.build();
        let peers = ExternalPeers {
            default: Side::Source,
            pinned: [("saas".to_string(), Side::Destination)].into(),
        };
        let rates = [(("db".to_string(), "web".to_string()), 300.0)].into();
        let sc = Scenario::from_inventory(&inv, &g, &peers, &rates);
        assert_eq!(sc.vms.len(), 3);
        assert_eq!(sc.vms[0].start, Side::Source);
        assert_eq!(sc.vms[0].dirty_mib_per_s, Some(12.5));
        assert_eq!(sc.vms[1].start, Side::Destination);
        assert!(sc.vms[2].pinned);
        assert_eq!(sc.vm_index("db"), Some(1));
        let find = |a: Endpoint, b: Endpoint| {
            sc.conversations
                .iter()
                .find(|c| (c.a, c.b) == (a, b) || (c.a, c.b) == (b, a))
                .unwrap()
        };
        let c = find(Endpoint::Vm(0), Endpoint::Vm(1));
        assert_eq!((c.bytes_per_s, c.requests_per_s), (1e6, Some(300.0)));
        let c = find(Endpoint::Vm(0), Endpoint::Fixed(Side::Destination));
        assert_eq!((c.bytes_per_s, c.requests_per_s), (2e5, None));
        find(Endpoint::Vm(2), Endpoint::Fixed(Side::Source));
        assert!(sc.validate().is_ok());
    }

    #[test]
    fn schedule_validation() {
        let vm = |name: &str, pinned, start| SimVm {
            name: name.into(),
            memory_mib: 1,
            disk_gib: 0,
            dirty_mib_per_s: None,
            start,
            pinned,
        };
        let sc = Scenario {
            vms: vec![
                vm("a", false, Side::Source),
                vm("b", true, Side::Source),
                vm("c", false, Side::Destination),
            ],
            conversations: vec![],
        };
        assert!(Schedule::from_order(vec![0], 1).validate(&sc).is_ok());
        assert!(Schedule::from_order(vec![0], 0).validate(&sc).is_err());
        assert!(Schedule::from_order(vec![0, 0], 1).validate(&sc).is_err());
        assert!(Schedule::from_order(vec![1], 1).validate(&sc).is_err());
        assert!(Schedule::from_order(vec![2], 1).validate(&sc).is_err());
        assert!(Schedule::from_order(vec![3], 1).validate(&sc).is_err());
        assert_eq!(
            Schedule::from_names(&sc, &["a"], 2).unwrap(),
            Schedule::from_order(vec![0], 2)
        );
        assert!(Schedule::from_names(&sc, &["zz"], 2).is_err());
    }
}
