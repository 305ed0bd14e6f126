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

    fn progress(&self, p: &Progress) {
        self.bar.set_message(format!(
            "best {}  lower bound {}  ({})",
            p.upper, p.lower, p.phase
        ));
    }
}
