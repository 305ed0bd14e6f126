//! A small seeded generator for the dirty-rate jitter.
//!
//! SplitMix64 (Steele, Lea & Flood, "Fast Splittable Pseudorandom Number
//! Generators", OOPSLA 2014): enough for jitter, no dependency, and one
//! independent stream per VM derived from the run's seed so that a VM's draws
//! do not depend on the order in which events interleave.

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream of VM `index` under `seed`.
    pub(crate) fn for_vm(seed: u64, index: usize) -> SplitMix64 {
        let mut g = SplitMix64(seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
        g.next_u64();
        g
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A log-normal factor of mean 1 and coefficient of variation `cv`
    /// (exactly 1 when `cv` is 0, without drawing).
    pub(crate) fn lognormal_factor(&mut self, cv: f64) -> f64 {
        if cv <= 0.0 {
            return 1.0;
        }
        let sigma2 = (1.0 + cv * cv).ln();
        (self.normal() * sigma2.sqrt() - sigma2 / 2.0).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_has_mean_one_and_the_asked_spread() {
        let mut g = SplitMix64::for_vm(7, 3);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| g.lognormal_factor(0.5)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "sd {}", var.sqrt());
        assert!(xs.iter().all(|&x| x > 0.0));
        assert_eq!(g.lognormal_factor(0.0), 1.0);
    }

    #[test]
    fn streams_differ_by_vm_and_repeat_by_seed() {
        let a: Vec<u64> = {
            let mut g = SplitMix64::for_vm(1, 0);
            (0..4).map(|_| g.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut g = SplitMix64::for_vm(1, 1);
            (0..4).map(|_| g.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut g = SplitMix64::for_vm(1, 0);
            (0..4).map(|_| g.next_u64()).collect()
        };
        assert_ne!(a, b);
        assert_eq!(a, c);
    }
}
