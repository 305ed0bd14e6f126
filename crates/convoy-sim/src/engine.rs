//! The event loop: a fluid discrete-event simulation.
//!
//! Between two events every rate is constant (the link's max-min fair shares
//! depend only on which migrations are sending and which conversations are
//! stretched), so the state advances exactly from one event to the next:
//! a transfer finishing (disk, a pre-copy round, the stop-and-copy), a
//! switchover handshake ending (one RTT), a move starting when a slot frees.
//! No time step, hence no discretisation error: a single VM with no dirty
//! memory takes memory / rate + RTT to the last floating-point digit.

use crate::error::SimError;
use crate::fair::{allocate, Demands, Elastic};
use crate::input::{Endpoint, NonConvergence, Scenario, Schedule, Side, SimConfig, GIB, MIB};
use crate::report::{LoadPoint, MigrationReport, Outcome, Report, Span, Stage, VmReport};
use crate::rng::SplitMix64;

/// Where a run stands, passed to a [`Progress`] observer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressInfo {
    /// Simulated time, seconds.
    pub sim_time_s: f64,
    /// Moves ended so far.
    pub vms_done: usize,
    /// Moves in the schedule.
    pub vms_total: usize,
    /// Moves running now.
    pub running: usize,
    /// Migration bytes put on the WAN so far.
    pub migration_bytes: f64,
}

/// Observes a run's progress over simulated time (a CLI draws a bar from it).
///
/// Called whenever a move starts or ends, and once at the end. Any
/// `FnMut(&ProgressInfo)` closure is a `Progress`.
pub trait Progress {
    /// The run has reached `info`.
    fn update(&mut self, info: &ProgressInfo);
}

impl<F: FnMut(&ProgressInfo)> Progress for F {
    fn update(&mut self, info: &ProgressInfo) {
        self(info)
    }
}

/// What an online chooser sees when a slot frees (see [`simulate_online`]).
///
/// Indices are into [`Scenario::vms`].
#[derive(Debug, Clone, Copy)]
pub struct ChooserView<'v> {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Where each VM runs now.
    pub sites: &'v [Side],
    /// Candidates not yet started, in the order they were given.
    pub remaining: &'v [usize],
    /// Moves running now.
    pub running: &'v [usize],
    /// Per VM, the bytes of its conversations that crossed the WAN so far
    /// (stretched demand, integrated): what the forwarding stubs count. For a
    /// VM still at the source, that is its traffic with the moved VMs (and
    /// with fixed peers at the destination).
    pub observed_bytes: &'v [f64],
    /// Per VM, the bytes/s of its conversations stretched right now.
    pub observed_bytes_per_s: &'v [f64],
}

/// Picks the next VM to move when a slot frees: the online strategy (move
/// one, watch who talks to the moved ones, pick the next). Any
/// `FnMut(&ChooserView) -> Option<usize>` closure is a `Chooser`.
pub trait Chooser {
    /// The next VM to start, one of `view.remaining`; `None` starts nothing
    /// more (the run ends when the running moves do).
    fn choose(&mut self, view: &ChooserView<'_>) -> Option<usize>;
}

impl<F: FnMut(&ChooserView<'_>) -> Option<usize>> Chooser for F {
    fn choose(&mut self, view: &ChooserView<'_>) -> Option<usize> {
        self(view)
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _: &ProgressInfo) {}
}

/// One running move.
struct Mig {
    vm: usize,
    stage: Stage,
    /// Bytes left in the current transfer (disk, round, stop-and-copy).
    rem: f64,
    /// Size of the current transfer, bytes.
    size: f64,
    /// Allocated rate over the last interval, bytes/s (QEMU's measured bandwidth).
    rate: f64,
    handshake_end: f64,
    stage_start: f64,
    start: f64,
    stop_start: f64,
    mem_bytes: f64,
    dirty_bytes_per_s: f64,
    round: u32,
    round_start: f64,
    round_factor: f64,
    throttle: f64,
    high_count: u32,
    period_start: f64,
    period_sent: f64,
    period_dirty: f64,
    disk_bytes: f64,
    memory_bytes: f64,
    sent: f64,
    received: f64,
    expected_downtime: Option<f64>,
    outcome: Option<Outcome>,
    spans: Vec<Span>,
    rng: SplitMix64,
}

impl Mig {
    fn transferring(&self) -> bool {
        self.stage != Stage::Switchover
    }

    fn end_stage(&mut self, t: f64) {
        self.spans.push(Span {
            stage: self.stage,
            start_s: self.stage_start,
            end_s: t,
        });
        self.stage_start = t;
    }

    fn begin_round(&mut self, t: f64, size: f64, jitter: f64) {
        self.round += 1;
        self.round_start = t;
        self.round_factor = self.rng.lognormal_factor(jitter);
        self.size = size;
        self.rem = size;
    }
}

/// What a settle step did to a move.
enum Step {
    Nothing,
    Advanced,
    Finished,
}

/// Simulates `schedule` on `scenario` under `config`.
///
/// # Model
///
/// * **Link**: one pipe of [`crate::Wan::capacity_bps`] in the direction of the
///   moves, shared max-min fairly (weighted by TCP streams) by the running
///   migrations and the stretched conversations (a conversation whose ends
///   are at different sites sends its bytes/s × `app_share_forward` over the
///   WAN while it lasts). Each migration's rate is also capped by
///   `max_bandwidth_bps` and by `streams` × the Mathis et al. (1997) bound of
///   the WAN's loss and RTT.
/// * **A move**, as QEMU runs a live migration (Clark et al., NSDI 2005; QEMU
///   `migration/ram.c`): the disk first, in bulk (`drive-mirror`; writes to
///   it during the copy are not modelled), then pre-copy rounds of memory
///   while the guest runs: the first round sends all memory, each next one
///   the distinct bytes dirtied during the previous one (dirty rate × (1 −
///   throttle) × round duration of writes, spread over the writable working
///   set: see [`crate::MigrationSettings::working_set_fraction`]). After each round, if the
///   remaining dirty bytes fit in `downtime_limit_s` at the rate measured over
///   the last interval, the guest pauses and they are sent (stop-and-copy),
///   then one RTT hands the VM over: that pause is the downtime, and at its
///   end the VM runs at the destination. Auto-converge, checked at round ends
///   at most once a second like QEMU's bitmap sync: when the bytes dirtied in
///   the period exceed `throttle_trigger_threshold` × the bytes sent in it for
///   the second time, the throttle starts at `throttle_initial` or grows by
///   `throttle_increment` up to `throttle_max`. After `max_rounds` rounds
///   without fitting, the move is forced through or aborted
///   ([`NonConvergence`]) and the report says so.
///   With [`crate::MigrationSettings::reserved_share`] > 0 the moves together
///   get at least that share of the link (up to their caps).
/// * **Schedule**: waves in sequence; within a wave, moves start in order with
///   at most `concurrency` running; a slot frees when a move ends.
///
/// Deterministic: same inputs and seed, same report (bit for bit). Errors
/// only on invalid input.
pub fn simulate(
    scenario: &Scenario,
    schedule: &Schedule,
    config: &SimConfig,
    progress: &mut dyn Progress,
) -> Result<Report, SimError> {
    config.validate()?;
    scenario.validate()?;
    schedule.validate(scenario)?;
    let feed = Feed::Waves {
        waves: &schedule.waves,
        wave: 0,
        next: 0,
    };
    let mut sim = Sim::new(scenario, feed, schedule.concurrency, config);
    sim.run(progress)?;
    Ok(sim.report())
}

/// Simulates an online strategy: whenever fewer than `concurrency` moves
/// run, `chooser` picks the next VM among the `candidates` not yet started,
/// seeing where every VM is and the traffic observed so far
/// ([`ChooserView`]). The model is [`simulate`]'s; the report's `order` is
/// the order the chooser produced. Errors on invalid input, or when the
/// chooser picks a VM that is not a remaining candidate.
pub fn simulate_online(
    scenario: &Scenario,
    candidates: &[usize],
    concurrency: usize,
    chooser: &mut dyn Chooser,
    config: &SimConfig,
    progress: &mut dyn Progress,
) -> Result<Report, SimError> {
    config.validate()?;
    scenario.validate()?;
    Schedule::from_order(candidates.to_vec(), concurrency).validate(scenario)?;
    let feed = Feed::Online {
        remaining: candidates.to_vec(),
        chooser,
    };
    let mut sim = Sim::new(scenario, feed, concurrency, config);
    sim.run(progress)?;
    Ok(sim.report())
}

/// Where the next move comes from.
enum Feed<'a> {
    /// A fixed schedule: the position in it.
    Waves {
        waves: &'a [Vec<usize>],
        wave: usize,
        next: usize,
    },
    /// An online chooser and the candidates it has not picked yet.
    Online {
        remaining: Vec<usize>,
        chooser: &'a mut dyn Chooser,
    },
}

struct Sim<'a> {
    scenario: &'a Scenario,
    feed: Feed<'a>,
    concurrency: usize,
    config: &'a SimConfig,
    t: f64,
    side: Vec<Side>,
    active: Vec<Mig>,
    finished: Vec<Option<MigrationReport>>,
    order: Vec<usize>,
    vms_done: usize,
    vms_total: usize,
    // Stretched conversations, rebuilt whenever a VM changes side.
    demands: Demands,
    n_stretched: usize,
    stretched_weight: f64,
    stretched_requests_rate: f64,
    stretched_at_start: usize,
    // Per VM: stretched bytes/s now, and integrated up to `observed_t`.
    vm_stretched_rate: Vec<f64>,
    observed: Vec<f64>,
    observed_t: f64,
    // Integrated metrics.
    wan_migration_bytes: f64,
    wan_app_bytes: f64,
    stretched_edge_seconds: f64,
    weighted_stretch_bytes: f64,
    latency_penalty_s: f64,
    stretched_requests: f64,
    load: Vec<LoadPoint>,
    peak_wan_bps: f64,
    // Scratch.
    elastic: Vec<Elastic>,
    rates: Vec<f64>,
}

/// A transfer whose remainder is this small (bytes, relative to its size) is done:
/// floating-point residue of simultaneous events, not data.
fn negligible(rem: f64, size: f64) -> bool {
    rem <= 1e-9 * size.max(1.0)
}

impl<'a> Sim<'a> {
    fn new(
        scenario: &'a Scenario,
        feed: Feed<'a>,
        concurrency: usize,
        config: &'a SimConfig,
    ) -> Sim<'a> {
        let vms_total = match &feed {
            Feed::Waves { waves, .. } => waves.iter().map(Vec::len).sum(),
            Feed::Online { remaining, .. } => remaining.len(),
        };
        let n = scenario.vms.len();
        let mut sim = Sim {
            scenario,
            feed,
            concurrency,
            config,
            t: 0.0,
            side: scenario.vms.iter().map(|v| v.start).collect(),
            active: Vec::new(),
            finished: vec![None; n],
            order: Vec::new(),
            vms_done: 0,
            vms_total,
            demands: Demands::default(),
            n_stretched: 0,
            stretched_weight: 0.0,
            stretched_requests_rate: 0.0,
            stretched_at_start: 0,
            vm_stretched_rate: vec![0.0; n],
            observed: vec![0.0; n],
            observed_t: 0.0,
            wan_migration_bytes: 0.0,
            wan_app_bytes: 0.0,
            stretched_edge_seconds: 0.0,
            weighted_stretch_bytes: 0.0,
            latency_penalty_s: 0.0,
            stretched_requests: 0.0,
            load: Vec::new(),
            peak_wan_bps: 0.0,
            elastic: Vec::new(),
            rates: Vec::new(),
        };
        sim.rebuild_stretched();
        sim.stretched_at_start = sim.n_stretched;
        sim
    }

    fn site(&self, e: Endpoint) -> Side {
        match e {
            Endpoint::Vm(i) => self.side[i],
            Endpoint::Fixed(s) => s,
        }
    }

    /// Brings the per-VM observed traffic up to the current time.
    fn flush_observed(&mut self) {
        let dt = self.t - self.observed_t;
        if dt > 0.0 {
            for (o, r) in self.observed.iter_mut().zip(&self.vm_stretched_rate) {
                *o += r * dt;
            }
        }
        self.observed_t = self.t;
    }

    fn rebuild_stretched(&mut self) {
        self.flush_observed();
        let share = self.config.migration.app_share_forward;
        let mut demands = Vec::new();
        let (mut n, mut w, mut r) = (0usize, 0.0, 0.0);
        self.vm_stretched_rate.iter_mut().for_each(|x| *x = 0.0);
        for c in &self.scenario.conversations {
            if self.site(c.a) != self.site(c.b) {
                n += 1;
                w += c.bytes_per_s;
                r += c.requests_per_s.unwrap_or(0.0);
                if c.bytes_per_s > 0.0 && share > 0.0 {
                    demands.push(c.bytes_per_s * share);
                }
                for e in [c.a, c.b] {
                    if let Endpoint::Vm(v) = e {
                        self.vm_stretched_rate[v] += c.bytes_per_s;
                    }
                }
            }
        }
        self.demands = Demands::new(demands);
        self.n_stretched = n;
        self.stretched_weight = w;
        self.stretched_requests_rate = r;
    }

    fn info(&self) -> crate::ProgressInfo {
        ProgressInfo {
            sim_time_s: self.t,
            vms_done: self.vms_done,
            vms_total: self.vms_total,
            running: self.active.len(),
            migration_bytes: self.wan_migration_bytes,
        }
    }

    fn start(&mut self, vm: usize) {
        self.order.push(vm);
        let v = &self.scenario.vms[vm];
        let m = &self.config.migration;
        let disk = v.disk_gib as f64 * GIB;
        let mem = v.memory_mib as f64 * MIB;
        let mut mig = Mig {
            vm,
            stage: Stage::Disk,
            rem: disk,
            size: disk,
            rate: 0.0,
            handshake_end: 0.0,
            stage_start: self.t,
            start: self.t,
            stop_start: 0.0,
            mem_bytes: mem,
            dirty_bytes_per_s: v.dirty_mib_per_s.unwrap_or(m.default_dirty_mib_per_s) * MIB,
            round: 0,
            round_start: 0.0,
            round_factor: 1.0,
            throttle: 0.0,
            high_count: 0,
            period_start: 0.0,
            period_sent: 0.0,
            period_dirty: 0.0,
            disk_bytes: 0.0,
            memory_bytes: 0.0,
            sent: 0.0,
            received: 0.0,
            expected_downtime: None,
            outcome: None,
            spans: Vec::new(),
            rng: SplitMix64::for_vm(self.config.seed, vm),
        };
        if disk <= 0.0 {
            // No disk to mirror: straight to memory, with no empty Disk span.
            mig.stage = Stage::Precopy;
            mig.period_start = self.t;
            mig.begin_round(self.t, mem, m.dirty_jitter);
        }
        self.active.push(mig);
    }
}

/// Distinct bytes dirtied by `written` bytes of writes falling uniformly at
/// random on a working set of `ws` bytes: `ws (1 − e^(−written/ws))`.
fn distinct_dirty(written: f64, ws: f64) -> f64 {
    if written <= 0.0 || ws <= 0.0 {
        return 0.0;
    }
    // -expm1 keeps the small-write end exact: ≈ written when written ≪ ws.
    -ws * (-written / ws).exp_m1()
}

/// Moves `mig` past a transfer or handshake that has ended at `t`.
fn step(mig: &mut Mig, t: f64, config: &SimConfig) -> Step {
    let m = &config.migration;
    match mig.stage {
        Stage::Switchover => {
            if mig.handshake_end <= t {
                mig.end_stage(t);
                Step::Finished
            } else {
                Step::Nothing
            }
        }
        _ if !negligible(mig.rem, mig.size) => Step::Nothing,
        Stage::Disk => {
            mig.received += mig.size;
            mig.disk_bytes += mig.size;
            mig.end_stage(t);
            mig.stage = Stage::Precopy;
            mig.period_start = t;
            mig.begin_round(t, mig.mem_bytes, m.dirty_jitter);
            Step::Advanced
        }
        Stage::Precopy => {
            mig.received += mig.size;
            mig.memory_bytes += mig.size;
            let elapsed = t - mig.round_start;
            let written = mig.dirty_bytes_per_s * (1.0 - mig.throttle) * mig.round_factor * elapsed;
            let dirtied = distinct_dirty(written, m.working_set_fraction * mig.mem_bytes);
            // Auto-converge, as QEMU's migration_trigger_throttle: evaluated
            // at a bitmap sync once at least a second has passed.
            mig.period_sent += mig.size;
            mig.period_dirty += dirtied;
            if t - mig.period_start >= 1.0 {
                if m.auto_converge
                    && mig.period_dirty > m.throttle_trigger_threshold * mig.period_sent
                {
                    mig.high_count += 1;
                    if mig.high_count >= 2 {
                        mig.high_count = 0;
                        mig.throttle = if mig.throttle == 0.0 {
                            m.throttle_initial
                        } else {
                            mig.throttle + m.throttle_increment
                        }
                        .min(m.throttle_max);
                    }
                }
                mig.period_start = t;
                mig.period_sent = 0.0;
                mig.period_dirty = 0.0;
            }
            // QEMU's switchover test: expected downtime = remaining / bandwidth.
            let bw = mig.rate;
            let expected = if dirtied <= 0.0 {
                0.0
            } else if bw > 0.0 {
                dirtied / bw
            } else {
                f64::INFINITY
            };
            let fits = expected <= m.downtime_limit_s;
            if fits || mig.round >= m.max_rounds {
                let outcome = if fits {
                    Outcome::Converged
                } else {
                    match m.on_non_convergence {
                        NonConvergence::ForceSwitchover => Outcome::Forced,
                        NonConvergence::Abort => Outcome::Aborted,
                    }
                };
                mig.outcome = Some(outcome);
                mig.end_stage(t);
                if outcome == Outcome::Aborted {
                    return Step::Finished;
                }
                mig.expected_downtime = expected.is_finite().then_some(expected);
                mig.stage = Stage::StopAndCopy;
                mig.stop_start = t;
                mig.size = dirtied;
                mig.rem = dirtied;
            } else {
                mig.begin_round(t, dirtied, m.dirty_jitter);
            }
            Step::Advanced
        }
        Stage::StopAndCopy => {
            mig.received += mig.size;
            mig.memory_bytes += mig.size;
            mig.end_stage(t);
            mig.stage = Stage::Switchover;
            mig.handshake_end = t + config.wan.rtt_s;
            Step::Advanced
        }
    }
}

impl<'a> Sim<'a> {
    /// Ends `mig`, records its report, and moves the VM if it got there.
    fn finish(&mut self, mig: Mig) {
        let outcome = mig.outcome.unwrap_or(Outcome::Converged);
        let moved = outcome != Outcome::Aborted;
        let downtime = if moved { self.t - mig.stop_start } else { 0.0 };
        self.finished[mig.vm] = Some(MigrationReport {
            start_s: mig.start,
            end_s: self.t,
            outcome,
            converged: outcome == Outcome::Converged,
            downtime_s: downtime,
            expected_downtime_s: if moved { mig.expected_downtime } else { None },
            rounds: mig.round,
            final_throttle: mig.throttle,
            disk_bytes: mig.disk_bytes,
            memory_bytes: mig.memory_bytes,
            bytes_sent: mig.sent,
            bytes_received: mig.received,
            spans: mig.spans,
        });
        self.vms_done += 1;
        if moved {
            self.side[mig.vm] = Side::Destination;
            // At once, so that a chooser called at this instant sees it.
            self.rebuild_stretched();
        }
    }

    /// The next VM to start, if a slot is free and the feed has one.
    fn next_vm(&mut self) -> Result<Option<usize>, SimError> {
        if self.active.len() >= self.concurrency {
            return Ok(None);
        }
        let idle = self.active.is_empty();
        let online = matches!(self.feed, Feed::Online { .. });
        if online {
            self.flush_observed();
        }
        let running: Vec<usize> = if online {
            self.active.iter().map(|m| m.vm).collect()
        } else {
            Vec::new()
        };
        match &mut self.feed {
            Feed::Waves { waves, wave, next } => loop {
                let Some(w) = waves.get(*wave) else {
                    return Ok(None);
                };
                if let Some(&vm) = w.get(*next) {
                    *next += 1;
                    return Ok(Some(vm));
                }
                if !idle {
                    // Wave barrier: the next wave waits for this one to end.
                    return Ok(None);
                }
                *wave += 1;
                *next = 0;
            },
            Feed::Online { remaining, .. } if remaining.is_empty() => Ok(None),
            Feed::Online { remaining, chooser } => {
                let view = ChooserView {
                    time_s: self.t,
                    sites: &self.side,
                    remaining,
                    running: &running,
                    observed_bytes: &self.observed,
                    observed_bytes_per_s: &self.vm_stretched_rate,
                };
                let Some(vm) = chooser.choose(&view) else {
                    remaining.clear();
                    return Ok(None);
                };
                let Some(pos) = remaining.iter().position(|&r| r == vm) else {
                    return Err(SimError::input(format!(
                        "the chooser picked VM {vm}, which is not among the remaining candidates"
                    )));
                };
                remaining.remove(pos);
                Ok(Some(vm))
            }
        }
    }

    /// Processes everything that happens at the current instant: transfers
    /// that ended, handshakes that ended, moves that start in freed slots.
    fn settle(&mut self, progress: &mut dyn Progress) -> Result<(), SimError> {
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < self.active.len() {
                match step(&mut self.active[i], self.t, self.config) {
                    Step::Nothing => i += 1,
                    // Look at the same move again: its next transfer may be empty.
                    Step::Advanced => changed = true,
                    Step::Finished => {
                        let mig = self.active.remove(i);
                        self.finish(mig);
                        changed = true;
                        progress.update(&self.info());
                    }
                }
            }
            while let Some(vm) = self.next_vm()? {
                self.start(vm);
                changed = true;
                progress.update(&self.info());
            }
            if !changed {
                return Ok(());
            }
        }
    }

    fn run(&mut self, progress: &mut dyn Progress) -> Result<(), SimError> {
        let capacity = self.config.wan.capacity_bps / 8.0;
        let m = &self.config.migration;
        let streams = f64::from(m.streams);
        let cap = (streams * self.config.wan.stream_cap_bytes_per_s())
            .min(m.max_bandwidth_bps.map_or(f64::INFINITY, |b| b / 8.0));
        loop {
            self.settle(progress)?;
            if self.active.is_empty() {
                break;
            }
            // Share the link among the moves that are sending and the stretched conversations.
            self.elastic.clear();
            for mig in &self.active {
                if mig.transferring() {
                    self.elastic.push(Elastic {
                        weight: streams,
                        cap,
                    });
                }
            }
            let mut rates = std::mem::take(&mut self.rates);
            let mut app = allocate(capacity, &self.demands, &self.elastic, &mut rates);
            let reserved = capacity * m.reserved_share;
            if reserved > 0.0 && rates.iter().sum::<f64>() < reserved {
                // The QoS class: the moves share the reserve among themselves
                // (up to their caps), the conversations share the rest.
                allocate(reserved, &Demands::default(), &self.elastic, &mut rates);
                let used: f64 = rates.iter().sum();
                let mut none = Vec::new();
                app = allocate(capacity - used, &self.demands, &[], &mut none);
            }
            let mut k = 0;
            let mut mig_rate = 0.0;
            for mig in &mut self.active {
                if mig.transferring() {
                    mig.rate = rates[k];
                    mig_rate += rates[k];
                    k += 1;
                } else {
                    mig.rate = 0.0;
                }
            }
            self.rates = rates;
            self.record_load(mig_rate * 8.0, app * 8.0);

            // The next event.
            let mut dt = f64::INFINITY;
            let mut first = usize::MAX;
            for (i, mig) in self.active.iter().enumerate() {
                let d = if mig.transferring() {
                    if mig.rate > 0.0 {
                        mig.rem / mig.rate
                    } else {
                        f64::INFINITY
                    }
                } else {
                    mig.handshake_end - self.t
                };
                if d < dt {
                    dt = d;
                    first = i;
                }
            }
            if !dt.is_finite() {
                return Err(SimError::input(format!(
                    "the simulation stalled at {} s: no running move can progress",
                    self.t
                )));
            }
            let dt = dt.max(0.0);
            let t_next = if self.active[first].transferring() {
                self.t + dt
            } else {
                self.active[first].handshake_end
            };
            let dt = t_next - self.t;

            // Advance every move and integrate the metrics over [t, t_next).
            let mut sent_now = 0.0;
            for (i, mig) in self.active.iter_mut().enumerate() {
                if !mig.transferring() {
                    continue;
                }
                let bytes = if i == first {
                    mig.rem
                } else {
                    (mig.rate * dt).min(mig.rem)
                };
                mig.rem = if i == first { 0.0 } else { mig.rem - bytes };
                mig.sent += bytes;
                sent_now += bytes;
            }
            self.wan_migration_bytes += sent_now;
            self.wan_app_bytes += app * dt;
            self.stretched_edge_seconds += self.n_stretched as f64 * dt;
            self.weighted_stretch_bytes += self.stretched_weight * dt;
            self.latency_penalty_s += self.stretched_requests_rate * self.config.wan.rtt_s * dt;
            self.stretched_requests += self.stretched_requests_rate * dt;
            self.t = t_next;
        }
        self.record_load(0.0, 0.0);
        progress.update(&self.info());
        Ok(())
    }

    fn record_load(&mut self, migration_bps: f64, app_bps: f64) {
        self.peak_wan_bps = self.peak_wan_bps.max(migration_bps + app_bps);
        match self.load.last_mut() {
            Some(p) if p.migration_bps == migration_bps && p.app_bps == app_bps => {}
            Some(p) if p.t_s == self.t => {
                p.migration_bps = migration_bps;
                p.app_bps = app_bps;
            }
            _ => self.load.push(LoadPoint {
                t_s: self.t,
                migration_bps,
                app_bps,
            }),
        }
    }

    fn report(self) -> Report {
        let vms: Vec<VmReport> = self
            .scenario
            .vms
            .iter()
            .enumerate()
            .map(|(i, v)| VmReport {
                name: v.name.clone(),
                start_site: v.start,
                final_site: self.side[i],
                migration: self.finished[i].clone(),
            })
            .collect();
        let migs = || vms.iter().filter_map(|v| v.migration.as_ref());
        let count = |o: Outcome| migs().filter(|m| m.outcome == o).count();
        Report {
            seed: self.config.seed,
            completion_s: self.t,
            moved: migs().filter(|m| m.outcome != Outcome::Aborted).count(),
            converged: count(Outcome::Converged),
            forced: count(Outcome::Forced),
            aborted: count(Outcome::Aborted),
            max_downtime_s: migs().map(|m| m.downtime_s).fold(0.0, f64::max),
            total_downtime_s: migs().map(|m| m.downtime_s).sum(),
            wan_migration_bytes: self.wan_migration_bytes,
            wan_app_bytes: self.wan_app_bytes,
            stretched_edge_seconds: self.stretched_edge_seconds,
            weighted_stretch_bytes: self.weighted_stretch_bytes,
            peak_wan_bps: self.peak_wan_bps,
            latency_penalty_s: self.latency_penalty_s,
            stretched_requests: self.stretched_requests,
            stretched_at_start: self.stretched_at_start,
            stretched_at_end: self.n_stretched,
            order: self
                .order
                .iter()
                .map(|&v| self.scenario.vms[v].name.clone())
                .collect(),
            vms,
            load: self.load,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::distinct_dirty;

    #[test]
    fn distinct_dirty_bytes_saturate_at_the_working_set() {
        assert_eq!(distinct_dirty(0.0, 100.0), 0.0);
        assert_eq!(distinct_dirty(5.0, 0.0), 0.0);
        // Small writes barely overlap.
        assert!((distinct_dirty(1e-3, 1e9) - 1e-3).abs() < 1e-15);
        // Writing the working set's size once leaves 1 − 1/e of it dirty.
        let d = distinct_dirty(100.0, 100.0);
        assert!((d - 100.0 * (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // Never more than the working set, and more writes never fewer dirty bytes.
        let mut last = 0.0;
        for k in 1..200 {
            let d = distinct_dirty(k as f64 * 7.0, 100.0);
            assert!(d <= 100.0 && d >= last);
            last = d;
        }
    }
}
