//! The `sim` backend: dry runs of a plan through the real mover and journal,
//! with each transfer's duration and bytes taken from the simulator.
//!
//! A move's transfer is simulated alone on a link of `capacity / concurrency`
//! (the share it gets when `concurrency` moves run at once) with
//! [`convoy_sim::simulate`]: disk mirror, pre-copy rounds, stop-and-copy,
//! auto-converge, exactly as `convoy simulate` models them. The backend then
//! reports that transfer's progress in steps, sleeping the simulated duration
//! divided by `speedup` (0 sleeps not at all). Where each VM runs is kept in
//! memory, so a dry run that is killed resumes as an interrupted real run
//! would, with [`Observation::UNKNOWN`] for VMs it has not seen.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use convoy_sim::{simulate, NoProgress, Scenario, Schedule, Side, SimConfig, SimVm};

use crate::backend::{
    Backend, Move, Observation, Presence, StepContext, TransferProgress, TransferStatus,
};
use crate::error::BackendError;

/// Progress reports per simulated transfer.
const STEPS: u32 = 20;

/// Dry-run backend driven by the simulator.
#[derive(Debug)]
pub struct SimBackend {
    config: SimConfig,
    speedup: f64,
    seen: Mutex<HashMap<String, Observation>>,
}

impl SimBackend {
    /// A backend for moves that share `config.wan` `concurrency` at a time,
    /// played back `speedup` times faster than simulated (0: instantly).
    pub fn new(mut config: SimConfig, concurrency: usize, speedup: f64) -> SimBackend {
        config.wan.capacity_bps /= concurrency.max(1) as f64;
        SimBackend {
            config,
            speedup,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn set(&self, vm: &str, obs: Observation) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(vm.to_string(), obs);
    }
}

impl Backend for SimBackend {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn prepare(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.set(
            mv.name(),
            Observation {
                source: Presence::Running,
                destination: Presence::Incoming,
                transfer: TransferStatus::NotStarted,
            },
        );
        Ok(())
    }

    fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let scenario = Scenario {
            vms: vec![SimVm {
                name: mv.vm.name.clone(),
                memory_mib: mv.vm.memory_mib,
                disk_gib: mv.vm.disk_gib,
                dirty_mib_per_s: mv.vm.dirty_mib_per_s,
                start: Side::Source,
                pinned: false,
            }],
            conversations: Vec::new(),
        };
        let report = simulate(
            &scenario,
            &Schedule::from_order(vec![0], 1),
            &self.config,
            &mut NoProgress,
        )
        .map_err(|e| BackendError::Protocol(format!("simulator: {e}")))?;
        let m = report.vms[0]
            .migration
            .as_ref()
            .ok_or_else(|| BackendError::Protocol("simulator: the move did not run".into()))?;
        let total = m.bytes_sent.round() as u64;
        let seconds = m.end_s - m.start_s;
        for i in 1..=STEPS {
            if ctx.is_cancelled() {
                return Err(BackendError::Cancelled);
            }
            if self.speedup > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(
                    seconds / self.speedup / f64::from(STEPS),
                ));
            }
            let sent = total / u64::from(STEPS) * u64::from(i);
            ctx.progress(TransferProgress {
                phase: Some("memory".into()),
                sent: if i == STEPS { total } else { sent },
                remaining: Some(total - if i == STEPS { total } else { sent }),
                total: Some(total),
                dirty_rate: mv.vm.dirty_mib_per_s.map(|d| (d * 1048576.0) as u64),
                downtime_ms: (i == STEPS).then(|| (m.downtime_s * 1e3).round() as u64),
                elapsed_ms: Some((seconds * 1e3 * f64::from(i) / f64::from(STEPS)) as u64),
                ..TransferProgress::default()
            });
        }
        self.set(
            mv.name(),
            Observation {
                source: Presence::Paused,
                destination: Presence::Incoming,
                transfer: TransferStatus::Completed,
            },
        );
        Ok(())
    }

    fn cutover(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.set(
            mv.name(),
            Observation {
                source: Presence::Absent,
                destination: Presence::Running,
                transfer: TransferStatus::Completed,
            },
        );
        Ok(())
    }

    fn rollback(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        self.set(
            mv.name(),
            Observation {
                source: Presence::Running,
                destination: Presence::Absent,
                transfer: TransferStatus::NotStarted,
            },
        );
        Ok(())
    }

    fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
        Ok(self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mv.name())
            .copied()
            .unwrap_or(Observation::UNKNOWN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Journal, Mover, State};

    fn vm(name: &str, memory_mib: u64) -> convoy_model::Vm {
        convoy_model::Vm {
            name: name.into(),
            site: "dc".into(),
            node: "n1".into(),
            vcpus: 1,
            memory_mib,
            disk_gib: 0,
            addresses: vec![],
            dirty_mib_per_s: Some(0.0),
            group: None,
            pinned: false,
        }
    }

    #[test]
    fn a_dry_run_moves_every_vm_once_with_the_simulated_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let config = SimConfig::new("1Gbit/s,40ms".parse().unwrap());
        let backend = SimBackend::new(config, 2, 0.0);
        let last: std::sync::Arc<Mutex<HashMap<String, u64>>> = Default::default();
        let seen = last.clone();
        let reporter = move |e: &crate::Event| {
            if let crate::Event::Progress { vm, progress } = e {
                seen.lock().unwrap().insert(vm.clone(), progress.sent);
            }
        };
        let mover = Mover::new(Journal::open(&dir.path().join("j.db")).unwrap(), backend)
            .with_reporter(std::sync::Arc::new(reporter));
        let moves: Vec<Move> = [("a", 1024), ("b", 2048), ("c", 512)]
            .iter()
            .map(|&(n, m)| Move::new(vm(n, m), "cloud", "c1"))
            .collect();
        for r in mover.migrate_all(&moves, 2) {
            assert_eq!(r.unwrap().state, State::Done);
        }
        // An idle guest sends its memory once: exactly memory_mib MiB.
        let last = last.lock().unwrap();
        assert_eq!(last["a"], 1024 * 1048576);
        assert_eq!(last["c"], 512 * 1048576);
        for mv in &moves {
            let obs = mover.backend().observe(mv).unwrap();
            assert_eq!(obs.source, Presence::Absent);
            assert_eq!(obs.destination, Presence::Running);
        }
    }
}
