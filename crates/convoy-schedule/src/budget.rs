//! Work budgets: how the pure scheduler is told when to stop without reading a clock.
//!
//! Every search counts its work in abstract *units* (a branch-and-bound node, a
//! local-search move evaluation, …). A [`Budget`] caps the units, which keeps
//! results reproducible: same input, seed and effort, same plan. The caller may
//! also interrupt the search through [`Control::should_stop`] (the CLI does so
//! for `--time-limit`); the result then says it was interrupted.

/// Hooks supplied by the caller. The scheduler has no clock and does no I/O, so
/// time limits and progress display live on the other side of this trait.
pub trait Control {
    /// Polled every few thousand units of work: return true to stop as soon as
    /// possible, keeping the best result found so far.
    fn should_stop(&self) -> bool {
        false
    }
    /// Called when the best known value or the lower bound changes.
    fn progress(&self, _progress: &Progress) {}
    /// The share of the caller's allowance still left, from 1 (all of it)
    /// down to 0 (when [`should_stop`](Control::should_stop) turns true),
    /// or `None` without a limit. A phase whose last step pays for the
    /// ones before it (the bound's LP, whose final solve certifies what its
    /// rounds of cuts found) measures its steps in this share and keeps
    /// back what the last one needs. The scheduler sees a fraction, not a
    /// clock.
    fn share_left(&self) -> Option<f64> {
        None
    }
}

/// A `Control` that never interrupts and ignores progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoControl;

impl Control for NoControl {}

/// What the search knows at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Best objective value found so far: of the whole graph, or of the
    /// part `phase` names (the lower-bound LP reports on the component it
    /// works on, which is the whole graph when the graph is connected).
    pub upper: u64,
    /// Best proven lower bound so far, of the same graph or part.
    pub lower: u64,
    /// What the solver is doing, e.g. `"heuristic"` or `"branch and bound k=7"`.
    pub phase: String,
}

/// Why a search ended before it had finished (proved optimality or converged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// [`Control::should_stop`] returned true.
    Interrupted,
    /// The effort budget ran out.
    Effort,
}

/// How often, in units, [`Control::should_stop`] is polled.
const POLL_EVERY: u64 = 4096;

/// A cap on work units, shared by the phases of one search.
pub struct Budget<'c> {
    limit: u64,
    used: u64,
    since_poll: u64,
    control: &'c dyn Control,
    stopped: Option<StopReason>,
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("limit", &self.limit)
            .field("used", &self.used)
            .field("stopped", &self.stopped)
            .finish()
    }
}

impl<'c> Budget<'c> {
    /// A budget of `limit` units, interruptible through `control`.
    pub fn new(limit: u64, control: &'c dyn Control) -> Self {
        Budget {
            limit,
            used: 0,
            since_poll: 0,
            control,
            stopped: None,
        }
    }

    /// Spends `units`; returns false once the search must stop (effort spent or interrupted).
    #[inline]
    pub fn spend(&mut self, units: u64) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        self.used = self.used.saturating_add(units);
        self.since_poll += units;
        if self.used >= self.limit {
            self.stopped = Some(StopReason::Effort);
            return false;
        }
        if self.since_poll >= POLL_EVERY {
            self.since_poll = 0;
            if self.control.should_stop() {
                self.stopped = Some(StopReason::Interrupted);
                return false;
            }
        }
        true
    }

    /// Marks the search as stopped for `reason` (a phase that polls the
    /// control itself, or that cannot pay for its next step). An
    /// interruption is kept over a later lack of effort.
    pub fn stop(&mut self, reason: StopReason) {
        if self.stopped != Some(StopReason::Interrupted) {
            self.stopped = Some(reason);
        }
    }

    /// Whether the search must stop.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// Why the search stopped, if it did.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Units spent so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Units left.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// The caller's hooks.
    pub fn control(&self) -> &'c dyn Control {
        self.control
    }

    /// A sub-budget of at most `limit` units (and no more than remain here), for one phase.
    /// Give it back with [`Budget::absorb`].
    pub fn child(&self, limit: u64) -> Budget<'c> {
        let mut b = Budget::new(limit.min(self.remaining()), self.control);
        b.stopped = self.stopped;
        b
    }

    /// Counts a finished child's work here. A child that ran out of its own share
    /// does not stop the parent; an interruption does.
    pub fn absorb(&mut self, child: Budget<'c>) {
        self.used = self.used.saturating_add(child.used);
        if child.stopped == Some(StopReason::Interrupted) {
            self.stopped = Some(StopReason::Interrupted);
        } else if self.used >= self.limit && self.stopped.is_none() {
            self.stopped = Some(StopReason::Effort);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct StopAfter(std::cell::Cell<u32>);
    impl Control for StopAfter {
        fn should_stop(&self) -> bool {
            let left = self.0.get();
            self.0.set(left.saturating_sub(1));
            left == 0
        }
    }

    #[test]
    fn effort_and_interruption() {
        let mut b = Budget::new(10, &NoControl);
        assert!(b.spend(9));
        assert!(!b.spend(1));
        assert_eq!(b.stopped(), Some(StopReason::Effort));

        let c = StopAfter(std::cell::Cell::new(1));
        let mut b = Budget::new(u64::MAX, &c);
        assert!(b.spend(POLL_EVERY));
        assert!(!b.spend(POLL_EVERY));
        assert_eq!(b.stopped(), Some(StopReason::Interrupted));
    }

    #[test]
    fn children_report_back() {
        let mut parent = Budget::new(100, &NoControl);
        let mut child = parent.child(30);
        while child.spend(1) {}
        parent.absorb(child);
        assert_eq!(parent.used(), 30);
        assert!(!parent.is_stopped());
    }
}
