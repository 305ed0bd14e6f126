//! The CLI side of the scheduler's [`Control`]: a wall-clock limit and a progress bar.

use std::time::{Duration, Instant};

use convoy_schedule::{Control, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Stops the search at a deadline and shows its progress on stderr.
pub struct Search {
    started: Instant,
    deadline: Option<Instant>,
    bar: ProgressBar,
}

impl Search {
    /// A search with an optional wall-clock limit; the bar is drawn only when
    /// stderr is a terminal and `show` is set.
    pub fn new(label: &str, time_limit: Option<f64>, show: bool) -> Self {
        let started = Instant::now();
        let bar = if show {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{elapsed_precise}] {msg}")
                .expect("static template"),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Search {
            started,
            deadline: time_limit.map(|s| started + Duration::from_secs_f64(s)),
            bar,
        }
    }

    /// Seconds since the search started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Control for Search {
    fn should_stop(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn share_left(&self) -> Option<f64> {
        let deadline = self.deadline?;
        let allowed = deadline
            .saturating_duration_since(self.started)
            .as_secs_f64();
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        Some(if allowed > 0.0 {
            (left / allowed).clamp(0.0, 1.0)
        } else {
            0.0
        })
    }

    fn progress(&self, p: &Progress) {
        // The certified gap is what tells whether waiting longer is worth it.
        let gap = if p.lower > 0 && p.upper > p.lower {
            format!(
                ", at most {:.3}× the optimum",
                p.upper as f64 / p.lower as f64
            )
        } else {
            String::new()
        };
        self.bar.set_message(format!(
            "best {}  lower bound {}  ({}{gap})",
            p.upper, p.lower, p.phase
        ));
    }
}

/// A bar over a simulated migration: moves done out of moves planned, and the simulated clock.
pub struct SimBar {
    bar: ProgressBar,
}

impl SimBar {
    /// A bar for `moves` moves, drawn on stderr when `show`.
    pub fn new(moves: usize, show: bool) -> Self {
        let bar = if show {
            ProgressBar::with_draw_target(Some(moves as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("simulating {bar:40.cyan/blue} {pos}/{len} moves  {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        SimBar { bar }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl convoy_sim::Progress for SimBar {
    fn update(&mut self, info: &convoy_sim::ProgressInfo) {
        self.bar.set_position(info.vms_done as u64);
        self.bar.set_message(format!(
            "t = {:.0} s simulated, {} running",
            info.sim_time_s, info.running
        ));
    }
}
