//! Weighted max-min fair sharing of the WAN (water-filling).
//!
//! Two kinds of flows share the link. Application conversations have a fixed
//! demand (their bytes/s) and weight 1; migrations are elastic, with a weight
//! (their TCP streams) and a cap (their `max-bandwidth`, and the loss bound of
//! each stream). The fair level λ solves `Σ min(dᵢ, λ) + Σ min(capⱼ, wⱼ λ) = C`;
//! each flow gets its `min`. Conversations far below the fair share pass
//! untouched, so the migrations share what is left; when the link saturates,
//! nobody starves (Bertsekas & Gallager, *Data Networks*, §6.5.2).
//!
//! The demands are kept sorted with prefix sums, so a level costs
//! O(K log m) for K migrations and m stretched conversations: the simulator
//! recomputes it at every event.

/// The stretched conversations' demands, sorted, with prefix sums.
#[derive(Debug, Clone)]
pub(crate) struct Demands {
    sorted: Vec<f64>,
    /// `prefix[k]` = sum of the k smallest demands (`prefix[0]` = 0).
    prefix: Vec<f64>,
}

impl Default for Demands {
    fn default() -> Self {
        Demands::new(Vec::new())
    }
}

impl Demands {
    /// Demands from an unsorted list (bytes/s, each ≥ 0).
    pub(crate) fn new(mut d: Vec<f64>) -> Demands {
        d.sort_by(f64::total_cmp);
        let mut prefix = Vec::with_capacity(d.len() + 1);
        let mut acc = 0.0;
        prefix.push(acc);
        for &x in &d {
            acc += x;
            prefix.push(acc);
        }
        Demands { sorted: d, prefix }
    }

    /// Sum of all demands.
    pub(crate) fn total(&self) -> f64 {
        self.prefix[self.sorted.len()]
    }

    /// Σ min(dᵢ, λ).
    fn carried(&self, lambda: f64) -> f64 {
        let k = self.sorted.partition_point(|&d| d <= lambda);
        self.prefix[k] + (self.sorted.len() - k) as f64 * lambda
    }

    /// Number of demands above λ (the slope of `carried` just after λ).
    fn above(&self, lambda: f64) -> usize {
        self.sorted.len() - self.sorted.partition_point(|&d| d <= lambda)
    }
}

/// An elastic flow: weight (> 0) and cap (bytes/s, may be infinite).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elastic {
    pub weight: f64,
    pub cap: f64,
}

/// Shares `capacity` (bytes/s, > 0); writes each elastic flow's rate into
/// `rates` and returns the application bytes/s carried.
pub(crate) fn allocate(
    capacity: f64,
    app: &Demands,
    elastic: &[Elastic],
    rates: &mut Vec<f64>,
) -> f64 {
    rates.clear();
    let cap_total: f64 = elastic.iter().map(|e| e.cap).sum();
    if app.total() + cap_total <= capacity {
        rates.extend(elastic.iter().map(|e| e.cap));
        return app.total();
    }
    let f = |l: f64| -> f64 {
        app.carried(l) + elastic.iter().map(|e| e.cap.min(e.weight * l)).sum::<f64>()
    };
    // Smallest breakpoint at which the load reaches the capacity: first among
    // the demands (binary search, f is monotone), then among the elastic caps.
    let i = app.sorted.partition_point(|&d| f(d) < capacity);
    let mut hi = app.sorted.get(i).copied().unwrap_or(f64::INFINITY);
    for e in elastic {
        let b = e.cap / e.weight;
        if b < hi && f(b) >= capacity {
            hi = b;
        }
    }
    // Largest breakpoint below it (or 0): f is linear in between.
    let mut lo = if i > 0 { app.sorted[i - 1] } else { 0.0 };
    if lo >= hi {
        lo = 0.0;
    }
    for e in elastic {
        let b = e.cap / e.weight;
        if b < hi && b > lo {
            lo = b;
        }
    }
    let slope = app.above(lo) as f64
        + elastic
            .iter()
            .filter(|e| e.cap / e.weight > lo)
            .map(|e| e.weight)
            .sum::<f64>();
    let lambda = if slope > 0.0 {
        (lo + (capacity - f(lo)) / slope).min(hi)
    } else {
        lo
    };
    rates.extend(elastic.iter().map(|e| e.cap.min(e.weight * lambda)));
    app.carried(lambda)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(capacity: f64, demands: &[f64], elastic: &[Elastic]) -> (Vec<f64>, f64) {
        let app = Demands::new(demands.to_vec());
        let mut rates = Vec::new();
        let carried = allocate(capacity, &app, elastic, &mut rates);
        let used = carried + rates.iter().sum::<f64>();
        let demand: f64 = demands.iter().sum::<f64>() + elastic.iter().map(|e| e.cap).sum::<f64>();
        // Work-conserving: the link is full, or every flow has what it asks.
        assert!(
            (used - capacity.min(demand)).abs() <= 1e-9 * capacity,
            "used {used}, capacity {capacity}, demand {demand}"
        );
        for (r, e) in rates.iter().zip(elastic) {
            assert!(*r <= e.cap * (1.0 + 1e-12) && *r >= 0.0);
        }
        (rates, carried)
    }

    #[test]
    fn small_conversations_pass_and_migrations_share_the_rest() {
        let e = Elastic {
            weight: 1.0,
            cap: f64::INFINITY,
        };
        let (rates, carried) = check(100.0, &[5.0, 10.0, 5.0], &[e, e]);
        assert!((carried - 20.0).abs() < 1e-12);
        assert!((rates[0] - 40.0).abs() < 1e-12 && (rates[1] - 40.0).abs() < 1e-12);
    }

    #[test]
    fn saturation_caps_big_conversations_and_nobody_starves() {
        let e = Elastic {
            weight: 1.0,
            cap: f64::INFINITY,
        };
        let (rates, carried) = check(100.0, &[10.0, 200.0, 300.0], &[e]);
        // The 10 B/s conversation is served; the two big ones and the
        // migration share the rest: 10 + 3λ = 100 → λ = 30.
        assert!((rates[0] - 30.0).abs() < 1e-12);
        assert!((carried - 70.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_to_share() {
        let e = Elastic {
            weight: 1.0,
            cap: f64::INFINITY,
        };
        let (rates, carried) = check(100.0, &[], &[e]);
        assert_eq!((rates, carried), (vec![100.0], 0.0));
        let (rates, carried) = check(100.0, &[30.0], &[]);
        assert_eq!((rates, carried), (vec![], 30.0));
        let app = Demands::new(vec![5.0, 7.0]);
        let mut rates = Vec::new();
        assert_eq!(allocate(0.0, &app, &[], &mut rates), 0.0);
    }

    #[test]
    fn caps_and_weights() {
        let capped = Elastic {
            weight: 1.0,
            cap: 10.0,
        };
        let heavy = Elastic {
            weight: 2.0,
            cap: f64::INFINITY,
        };
        let (rates, carried) = check(100.0, &[], &[capped, heavy]);
        assert_eq!(carried, 0.0);
        assert!((rates[0] - 10.0).abs() < 1e-12 && (rates[1] - 90.0).abs() < 1e-12);
        let light = Elastic {
            weight: 1.0,
            cap: f64::INFINITY,
        };
        let (rates, _) = check(90.0, &[], &[light, heavy]);
        assert!((rates[0] - 30.0).abs() < 1e-12 && (rates[1] - 60.0).abs() < 1e-12);
        // Everything capped below the capacity: all get their caps.
        let (rates, carried) = check(1000.0, &[1.0, 2.0], &[capped, capped]);
        assert_eq!(rates, vec![10.0, 10.0]);
        assert_eq!(carried, 3.0);
    }

    #[test]
    fn seeded_family_is_work_conserving() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..500 {
            let m = (next() * 8.0) as usize;
            let k = (next() * 4.0) as usize;
            let demands: Vec<f64> = (0..m).map(|_| next() * 50.0).collect();
            let elastic: Vec<Elastic> = (0..k)
                .map(|_| Elastic {
                    weight: 1.0 + (next() * 3.0).floor(),
                    cap: if next() < 0.5 {
                        f64::INFINITY
                    } else {
                        next() * 60.0 + 0.1
                    },
                })
                .collect();
            let capacity = next() * 200.0 + 1.0;
            let (rates, _) = check(capacity, &demands, &elastic);
            // Max-min: an elastic flow below its cap gets at least weight × the
            // largest carried demand share of anyone unsatisfied.
            for (r, e) in rates.iter().zip(&elastic) {
                if *r < e.cap * (1.0 - 1e-9) {
                    let level = r / e.weight;
                    for (r2, e2) in rates.iter().zip(&elastic) {
                        assert!(r2 / e2.weight <= level * (1.0 + 1e-9) + 1e-9);
                    }
                }
            }
        }
    }
}
