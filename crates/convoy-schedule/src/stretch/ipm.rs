//! A primal-dual interior-point solver for box-bounded LPs with few columns
//! and many sparse rows,
//!
//! ```text
//!     minimise   q·x
//!     subject to a_r·x ≥ b_r      for every row r,
//!                lo_j ≤ x_j ≤ hi_j  for every column j,
//! ```
//!
//! by Mehrotra's predictor-corrector method (S. Mehrotra, "On the
//! implementation of a primal-dual interior point method", SIAM J. Optim.
//! 2(4), 1992): an affine-scaling predictor, a centring parameter
//! `σ = (μ_aff/μ)³`, and a corrector with the second-order term, then up
//! to six of Gondzio's centrality correctors (kept while they lengthen the
//! step by 1 %: on the 279-VM cluster's LPs they halve the gap left after
//! 40 iterations), all solved with one factorisation. On LPs of 65 536
//! complementarity pairs and more, a step may let its first few blockers
//! (one pair in 65 536) through, each floored at a tenth of its value
//! rather than crossing zero, leaving the residuals this makes to the
//! next iterations ([`RELIEF_PAIRS`]): at 279 VMs a few of the stretch
//! LP's edge rows otherwise cut every step to 0.2–0.5.
//!
//! The box is handled as in the standard bounded-variable formulation: with
//! `x = lo + x'` and `u = hi − lo`, the primal is `A x' − w = b'`,
//! `x' + t = u`, `x', t, w ≥ 0`, and the dual `Aᵀy + z − v = q`,
//! `y, z, v ≥ 0`. Eliminating everything but `dx` leaves the normal
//! equations
//!
//! ```text
//!     (Aᵀ D A + Z X⁻¹ + V T⁻¹) dx = h,    D = Y W⁻¹,
//! ```
//!
//! whose matrix has the size of the *columns*, while the augmented (KKT)
//! system a general solver factors has the size of the rows. The module
//! `normal` forms and factors it, either densely (a few hundred columns,
//! thousands of long rows: `Σ_r nnz(a_r)²/2` to form, `n³/6` to factor,
//! with no fill-in analysis, pivoting or sparse data structures) or, when
//! the caller lays the columns out in groups that a row straddles only
//! without global columns, through the Schur complement of the
//! block-diagonal part (and the rows that straddle groups through their
//! capacitance matrix). The box terms
//! `Z X⁻¹ + V T⁻¹` are strictly positive, so the matrix is positive
//! definite at every interior iterate; a small regularisation of the
//! diagonal and a few steps of iterative refinement guard against
//! rounding, and a non-positive pivot is replaced by a huge one (the
//! direction's component along it is dropped) rather than failing.
//! Whatever error is left in `dx` is pushed into the complementarity
//! products rather than the linear residuals (`dz`, `dv` are corrected so
//! that the dual equation holds), so that late, ill-conditioned iterations
//! cannot lose the dual feasibility the certificate below relies on.
//!
//! Convergence asks for relative primal and dual infeasibilities and a
//! relative gap below 10⁻⁸, where the gap also covers the weak-duality
//! bound `b·y + Σ_j min(r_j·lo_j, r_j·hi_j)`, `r = q − Aᵀy`, that a caller
//! computes from the row duals alone.
//!
//! Before the iterations, rows are merged (duplicate columns summed), rows
//! the box already satisfies are dropped (their dual is 0), a row the box
//! cannot satisfy makes the problem infeasible, and every row is scaled by
//! its largest coefficient.
//!
//! Deterministic (the blocked factorisation's two threads add fixed halves
//! in a fixed order), allocation only in `Vec`s, and no panics:
//! malformed input (mismatched lengths, non-finite numbers, a column out of
//! range, `lo ≥ hi`) and numerical breakdown give `None`.

// The numerical kernels update several parallel vectors per index; index
// loops read more plainly than zipped iterators there.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

use super::normal::{dot, NormalEquations, RowAccess};

/// Fraction of the distance to the boundary taken by a step.
const STEP_FRACTION: f64 = 0.995;
/// Relative primal/dual infeasibility and relative gap of convergence used
/// by the tests (callers choose theirs).
#[cfg(test)]
const TOLERANCE: f64 = 1e-8;
/// Most steps of iterative refinement of a normal-equation solve.
const REFINEMENTS: usize = 3;
/// Most centrality correctors per iteration. Each costs one solve with the
/// iteration's factorisation, far cheaper than the factorisation on the
/// stretch LPs: six instead of two (kept on a 1 % gain instead of 10 %)
/// halve the relative gap left after 40 iterations on the 279-VM
/// cluster's first LPs (0.5 % instead of 1.2 %, 1.3 % instead of 2.9 %).
const CORRECTORS: usize = 6;
/// A corrector is kept when it lengthens the sum of the step lengths by
/// this fraction.
const CORRECTOR_GAIN: f64 = 0.01;
/// Complementarity products are pushed into `[CENTRE_LOW, CENTRE_HIGH]`
/// times the centring target.
const CENTRE_LOW: f64 = 0.1;
/// See [`CENTRE_LOW`].
const CENTRE_HIGH: f64 = 10.0;
/// One complementarity pair in this many may be let through the boundary
/// by a longer step (see [`relieved_steps`]); LPs of fewer pairs take the
/// usual steps. On the 279-VM cluster's stretch LPs (1.4 million pairs,
/// so 21 of them), a handful of the edge rows' surpluses and duals, well
/// centred but with steep directions, cut every step to 0.2–0.5: letting
/// 20 of them through lifted the certificate after 40 iterations by 0.2 %
/// on the first LP and 1.1 % on the fourth; letting 300 through lost
/// 1 % (the residuals they leave grow faster than the steps).
const RELIEF_PAIRS: usize = 1 << 16;
/// A pair let through keeps this share of its value instead of crossing zero.
const RELIEF_FLOOR: f64 = 0.1;
/// Dual magnitude beyond which the problem is taken to be (nearly)
/// infeasible and the iterations stop.
const DIVERGENCE: f64 = 1e30;

/// A primal-dual solution of the LP.
#[derive(Debug, Clone)]
pub(crate) struct LpSolution {
    /// Primal values, within `[lo, hi]`.
    pub x: Vec<f64>,
    /// One dual `≥ 0` per input row (0 for rows the box satisfies alone).
    pub y: Vec<f64>,
    /// Interior-point iterations performed.
    pub iterations: u32,
    /// Whether the tolerances were met (else `max_iter` was reached or the
    /// iterations stalled; `y` still gives a valid weak-duality bound).
    // The cut loop uses every iterate, converged or not; the tests check it.
    #[allow(dead_code)]
    pub converged: bool,
}

/// The rows kept after presolve, in compressed sparse form, scaled and with
/// the shift `x = lo + x'` applied to the right-hand sides.
struct Rows {
    /// `start[r]..start[r + 1]` indexes the entries of row `r`.
    start: Vec<usize>,
    /// Column of each entry (ascending within a row, no duplicates).
    col: Vec<usize>,
    /// Scaled coefficient of each entry.
    val: Vec<f64>,
    /// Scaled and shifted right-hand side `b'_r = (b_r − a_r·lo)/s_r`.
    rhs: Vec<f64>,
    /// Scale `s_r` (largest coefficient magnitude) of each row.
    scale: Vec<f64>,
    /// Index of each kept row in the input.
    orig: Vec<usize>,
}

impl RowAccess for Rows {
    fn len(&self) -> usize {
        self.rhs.len()
    }

    fn row(&self, r: usize) -> (&[usize], &[f64]) {
        let range = self.start[r]..self.start[r + 1];
        (&self.col[range.clone()], &self.val[range])
    }
}

impl Rows {
    /// `out = A x`.
    fn mul(&self, x: &[f64], out: &mut [f64]) {
        for (r, o) in out.iter_mut().enumerate() {
            let (cols, vals) = self.row(r);
            *o = cols.iter().zip(vals).map(|(&c, &a)| a * x[c]).sum();
        }
    }

    /// `out = Aᵀ y`.
    fn mul_t(&self, y: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for (r, &yr) in y.iter().enumerate() {
            if yr == 0.0 {
                continue;
            }
            let (cols, vals) = self.row(r);
            for (&c, &a) in cols.iter().zip(vals) {
                out[c] += a * yr;
            }
        }
    }
}

/// When the interior point stops short of an optimum.
#[derive(Clone, Copy)]
pub(crate) struct Stopping<'a> {
    /// Iterations allowed.
    pub max_iter: u32,
    /// Relative infeasibilities and gap at which the LP counts as solved.
    pub tolerance: f64,
    /// Polled before every iteration: when it returns true the solve ends
    /// there, unconverged, with the iterate reached. An iteration of a
    /// large LP takes seconds and a solve up to an hour, and a caller's
    /// time limit must not wait for it.
    pub interrupt: &'a dyn Fn() -> bool,
}

/// Solves `min q·x` subject to `a_r·x ≥ b_r` for the sparse `rows` and
/// `lo ≤ x ≤ hi`, in at most `stopping.max_iter` iterations. `None` on malformed
/// input, a row the box cannot satisfy, or numerical breakdown; otherwise
/// the last iterate, with [`LpSolution::converged`] telling whether the
/// relative infeasibilities and gap are below `stopping.tolerance`.
///
/// `groups` lays the normal equations out (see the module `normal`): empty
/// for a dense solve; else disjoint ranges of columns from 0 up, each row
/// touching at most one of them (else `None`), the columns after them global.
#[cfg(test)]
pub(crate) fn solve(
    q: &[f64],
    lo: &[f64],
    hi: &[f64],
    rows: &[(Vec<(usize, f64)>, f64)],
    groups: &[Range<usize>],
    stopping: &Stopping<'_>,
) -> Option<LpSolution> {
    Solve::new(q, lo, hi, rows, groups)?.run(stopping)
}

/// An LP under solution: the presolved problem and the interior point's
/// iterate, kept so that a solve stopped at its iteration cap can be
/// carried on where it stopped (the stretch LP's final solve goes on from
/// its last round's 40 iterations instead of starting again).
pub(crate) struct Solve {
    lo: Vec<f64>,
    hi: Vec<f64>,
    q: Vec<f64>,
    /// Box widths `hi − lo`.
    u: Vec<f64>,
    /// `q·lo`: the objective of the shifted problem differs by it.
    offset: f64,
    /// Rows of the input, before presolve.
    input_rows: usize,
    kept: Rows,
    groups: Vec<Range<usize>>,
    /// `None` when presolve left no row (the box alone decides).
    it: Option<Iterate>,
    iterations: u32,
    /// Successive iterations whose steps were negligible.
    stalled: u32,
    /// Blockers a step may let through on each side ([`RELIEF_PAIRS`]).
    relief: usize,
}

impl Solve {
    /// Checks and presolves the LP (see [`solve`] for the arguments);
    /// `None` on malformed input or a row the box cannot satisfy.
    pub(crate) fn new(
        q: &[f64],
        lo: &[f64],
        hi: &[f64],
        rows: &[(Vec<(usize, f64)>, f64)],
        groups: &[Range<usize>],
    ) -> Option<Self> {
        let n = q.len();
        if lo.len() != n || hi.len() != n {
            return None;
        }
        for j in 0..n {
            if !(q[j].is_finite() && lo[j].is_finite() && hi[j].is_finite() && lo[j] < hi[j]) {
                return None;
            }
            if !(hi[j] - lo[j]).is_finite() {
                return None;
            }
        }
        let kept = presolve(n, lo, hi, rows)?;
        let u: Vec<f64> = lo.iter().zip(hi).map(|(l, h)| h - l).collect();
        let it = (kept.len() > 0).then(|| start(q, &u, &kept));
        let relief = (2 * n + kept.len()) / RELIEF_PAIRS;
        Some(Solve {
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            q: q.to_vec(),
            offset: dot(q, lo),
            u,
            input_rows: rows.len(),
            kept,
            groups: groups.to_vec(),
            it,
            iterations: 0,
            stalled: 0,
            relief,
        })
    }

    /// The same solve letting `relief` blockers through on each side
    /// whatever the LP's size, for the tests on small LPs.
    #[cfg(test)]
    fn relieving(mut self, relief: usize) -> Self {
        self.relief = relief;
        self
    }

    /// Iterates until `stopping.max_iter` iterations in all (counting
    /// those of earlier calls), convergence, a stall or an interruption,
    /// and returns the iterate reached; `None` on numerical breakdown.
    pub(crate) fn run(&mut self, stopping: &Stopping<'_>) -> Option<LpSolution> {
        let n = self.q.len();
        let (xs, converged) = match &mut self.it {
            None => {
                // Only the box: each column at its cheaper bound.
                let xs = self
                    .q
                    .iter()
                    .zip(&self.u)
                    .map(|(&c, &w)| if c >= 0.0 { 0.0 } else { w })
                    .collect();
                (xs, true)
            }
            Some(it) => {
                let converged = interior_point(
                    &self.q,
                    self.offset,
                    &self.u,
                    &self.kept,
                    &self.groups,
                    stopping,
                    it,
                    &mut self.iterations,
                    &mut self.stalled,
                    self.relief,
                )?;
                (it.x.clone(), converged)
            }
        };
        let x = (0..n)
            .map(|j| (self.lo[j] + xs[j]).clamp(self.lo[j], self.hi[j]))
            .collect();
        let mut y = vec![0.0; self.input_rows];
        if let Some(it) = &self.it {
            for (k, &yk) in it.y.iter().enumerate() {
                let v = yk / self.kept.scale[k];
                y[self.kept.orig[k]] = if v.is_finite() { v.max(0.0) } else { 0.0 };
            }
        }
        Some(LpSolution {
            x,
            y,
            iterations: self.iterations,
            converged,
        })
    }
}

/// Merges, checks, filters and scales the rows (see the module docs).
/// `None` on malformed input or a row that no point of the box satisfies.
fn presolve(n: usize, lo: &[f64], hi: &[f64], rows: &[(Vec<(usize, f64)>, f64)]) -> Option<Rows> {
    let mut kept = Rows {
        start: vec![0],
        col: Vec::new(),
        val: Vec::new(),
        rhs: Vec::new(),
        scale: Vec::new(),
        orig: Vec::new(),
    };
    let mut entries: Vec<(usize, f64)> = Vec::new();
    for (r, (coefs, b)) in rows.iter().enumerate() {
        if !b.is_finite() {
            return None;
        }
        entries.clear();
        for &(c, a) in coefs {
            if c >= n || !a.is_finite() {
                return None;
            }
            entries.push((c, a));
        }
        entries.sort_by_key(|e| e.0);
        // Sum duplicate columns in place, dropping zeros.
        let mut len = 0;
        for i in 0..entries.len() {
            if len > 0 && entries[len - 1].0 == entries[i].0 {
                entries[len - 1].1 += entries[i].1;
            } else {
                entries[len] = entries[i];
                len += 1;
            }
        }
        entries.truncate(len);
        entries.retain(|e| e.1 != 0.0);
        let (mut min_act, mut max_act, mut size) = (0.0, 0.0, 0.0f64);
        for &(c, a) in &entries {
            min_act += (a * lo[c]).min(a * hi[c]);
            max_act += (a * lo[c]).max(a * hi[c]);
            size = size.max(a.abs());
        }
        if !(min_act.is_finite() && max_act.is_finite()) {
            return None;
        }
        if min_act >= *b {
            continue; // The box satisfies it: dual 0.
        }
        let slack = 1e-12 * (1.0 + b.abs() + max_act.abs());
        if max_act < b - slack {
            return None; // No point of the box satisfies it.
        }
        let mut shifted = *b;
        for &(c, a) in &entries {
            kept.col.push(c);
            kept.val.push(a / size);
            shifted -= a * lo[c];
        }
        kept.start.push(kept.col.len());
        kept.rhs.push(shifted / size);
        kept.scale.push(size);
        kept.orig.push(r);
    }
    Some(kept)
}

/// The iterate: primal `x', t, w` and dual `y, z, v` (see the module docs).
struct Iterate {
    /// Shifted primal values `x' = x − lo` (one per column).
    x: Vec<f64>,
    /// Upper-bound slacks `t = u − x'` (one per column).
    t: Vec<f64>,
    /// Row surpluses `w = A x' − b'` (one per row).
    w: Vec<f64>,
    /// Row duals (one per row).
    y: Vec<f64>,
    /// Lower-bound duals (one per column).
    z: Vec<f64>,
    /// Upper-bound duals (one per column).
    v: Vec<f64>,
}

/// A search direction: one change per variable of an [`Iterate`].
type Direction = Iterate;

impl Iterate {
    /// All zeros, for `n` columns and `m` rows.
    fn zeros(n: usize, m: usize) -> Self {
        Iterate {
            x: vec![0.0; n],
            t: vec![0.0; n],
            w: vec![0.0; m],
            y: vec![0.0; m],
            z: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// Right-hand sides of the Newton system: the linear residuals and the
/// complementarity targets.
struct Residuals {
    /// `b' − A x' + w`.
    p: Vec<f64>,
    /// `u − x' − t`.
    u: Vec<f64>,
    /// `q − Aᵀy − z + v`.
    d: Vec<f64>,
    /// Target of `X dz + Z dx`.
    xz: Vec<f64>,
    /// Target of `T dv + V dt`.
    tv: Vec<f64>,
    /// Target of `W dy + Y dw`.
    wy: Vec<f64>,
}

impl Residuals {
    /// All zeros, for `n` columns and `m` rows.
    fn zeros(n: usize, m: usize) -> Self {
        Residuals {
            p: vec![0.0; m],
            u: vec![0.0; n],
            d: vec![0.0; n],
            xz: vec![0.0; n],
            tv: vec![0.0; n],
            wy: vec![0.0; m],
        }
    }
}

/// Mehrotra's method on the presolved problem with `x' ∈ [0, u]`, whose
/// objective differs from the original one by `offset = q·lo`, carried on
/// from the iterate `it` after `iterations` iterations (`stalled` of them
/// in a row negligible), both updated, letting `relief` blockers of each
/// step through ([`relieved_steps`]). Returns whether it converged, or
/// `None` on numerical breakdown.
#[allow(clippy::too_many_arguments)]
fn interior_point(
    q: &[f64],
    offset: f64,
    u: &[f64],
    rows: &Rows,
    groups: &[Range<usize>],
    stopping: &Stopping<'_>,
    it: &mut Iterate,
    iterations: &mut u32,
    stalled: &mut u32,
    relief: usize,
) -> Option<bool> {
    let Stopping {
        max_iter,
        tolerance,
        interrupt,
    } = *stopping;
    let n = q.len();
    let m = rows.len();
    let norm_b = 1.0 + inf_norm(&rows.rhs);
    let norm_u = 1.0 + inf_norm(u);
    let norm_q = 1.0 + inf_norm(q);
    let mut normal = NormalEquations::new(n, m, groups)?;
    if !normal.fits(rows) {
        return None;
    }
    let mut res = Residuals::zeros(n, m);
    let mut dir = Direction::zeros(n, m);
    let mut aff = Direction::zeros(n, m);
    let mut trial = Direction::zeros(n, m);
    // Residuals of a corrector: the linear ones zero, the products' targets
    // filled in per corrector.
    let mut corr_res = Residuals::zeros(n, m);
    let mut scratch_m = vec![0.0; m];
    let mut scratch_n = vec![0.0; n];
    let pairs = (2 * n + m) as f64;
    loop {
        // Residuals and convergence.
        rows.mul(&it.x, &mut scratch_m);
        for r in 0..m {
            res.p[r] = rows.rhs[r] - scratch_m[r] + it.w[r];
        }
        for j in 0..n {
            res.u[j] = u[j] - it.x[j] - it.t[j];
        }
        rows.mul_t(&it.y, &mut scratch_n);
        for j in 0..n {
            res.d[j] = q[j] - scratch_n[j] - it.z[j] + it.v[j];
        }
        let pobj = dot(q, &it.x);
        let dobj = dot(&rows.rhs, &it.y) - dot(u, &it.v);
        let pinf = (inf_norm(&res.p) / norm_b).max(inf_norm(&res.u) / norm_u);
        let dinf = inf_norm(&res.d) / norm_q;
        // The weak-duality bound of the row duals alone (the caller's
        // certificate): `b'·y + Σ_j min(0, r_j·u_j)` with `r = q − Aᵀy`.
        // It differs from `dobj` by at most `Σ_j |r_d,j|·u_j`.
        let bound = dot(&rows.rhs, &it.y)
            + (0..n)
                .map(|j| ((q[j] - scratch_n[j]) * u[j]).min(0.0))
                .sum::<f64>();
        // Relative to the objective of the problem as given (unshifted).
        let gap = (pobj - dobj).abs().max(pobj - bound) / (1.0 + (pobj + offset).abs());
        tracing::trace!(
            iterations = *iterations,
            pobj = pobj + offset,
            bound = bound + offset,
            pinf,
            dinf,
            gap,
            "interior point"
        );
        if !(pinf.is_finite() && dinf.is_finite() && gap.is_finite()) {
            return None;
        }
        if pinf <= tolerance && dinf <= tolerance && gap <= tolerance {
            return Some(true);
        }
        if *iterations >= max_iter || *stalled >= 5 || inf_norm(&it.y) > DIVERGENCE || interrupt() {
            return Some(false);
        }
        *iterations += 1;
        let mu = (dot(&it.x, &it.z) + dot(&it.t, &it.v) + dot(&it.w, &it.y)) / pairs;

        // Normal equations.
        for r in 0..m {
            normal.d[r] = it.y[r] / it.w[r];
        }
        for j in 0..n {
            normal.diag[j] = it.z[j] / it.x[j] + it.v[j] / it.t[j];
        }
        normal.factor(rows)?;

        // Predictor (affine scaling).
        for j in 0..n {
            res.xz[j] = -it.x[j] * it.z[j];
            res.tv[j] = -it.t[j] * it.v[j];
        }
        for r in 0..m {
            res.wy[r] = -it.w[r] * it.y[r];
        }
        direction(rows, &normal, it, &res, &mut aff, &mut scratch_m)?;
        let (ap, ad) = step_lengths(it, &aff, 1.0);
        let mut mu_aff = 0.0;
        for j in 0..n {
            mu_aff += (it.x[j] + ap * aff.x[j]) * (it.z[j] + ad * aff.z[j]);
            mu_aff += (it.t[j] + ap * aff.t[j]) * (it.v[j] + ad * aff.v[j]);
        }
        for r in 0..m {
            mu_aff += (it.w[r] + ap * aff.w[r]) * (it.y[r] + ad * aff.y[r]);
        }
        mu_aff /= pairs;
        let sigma = (mu_aff / mu).clamp(0.0, 1.0).powi(3);

        // Corrector: centring and the second-order term.
        let target = sigma * mu;
        for j in 0..n {
            res.xz[j] = target - it.x[j] * it.z[j] - aff.x[j] * aff.z[j];
            res.tv[j] = target - it.t[j] * it.v[j] - aff.t[j] * aff.v[j];
        }
        for r in 0..m {
            res.wy[r] = target - it.w[r] * it.y[r] - aff.w[r] * aff.y[r];
        }
        direction(rows, &normal, it, &res, &mut dir, &mut scratch_m)?;
        let (mut ap, mut ad) = step_lengths(it, &dir, STEP_FRACTION);

        // Gondzio's centrality correctors (J. Gondzio, "Multiple centrality
        // corrections in a primal-dual method for linear programming",
        // Comput. Optim. Appl. 6, 1996): aim a longer step, push the
        // complementarity products it would give back into
        // [β_min·σμ, β_max·σμ], and keep the correction while it lengthens
        // the step. Each costs one solve with the same factorisation.
        for _ in 0..CORRECTORS {
            let (tp, td) = ((ap * 1.5 + 0.1).min(1.0), (ad * 1.5 + 0.1).min(1.0));
            let push = |a: f64, da: f64, b: f64, db: f64| {
                let v = (a + tp * da) * (b + td * db);
                if v < CENTRE_LOW * target {
                    CENTRE_LOW * target - v
                } else if v > CENTRE_HIGH * target {
                    (CENTRE_HIGH * target - v).max(-CENTRE_HIGH * target)
                } else {
                    0.0
                }
            };
            for j in 0..n {
                corr_res.xz[j] = push(it.x[j], dir.x[j], it.z[j], dir.z[j]);
                corr_res.tv[j] = push(it.t[j], dir.t[j], it.v[j], dir.v[j]);
            }
            for r in 0..m {
                corr_res.wy[r] = push(it.w[r], dir.w[r], it.y[r], dir.y[r]);
            }
            direction(rows, &normal, it, &corr_res, &mut aff, &mut scratch_m)?;
            for (d, c) in [
                (&mut trial.x, (&dir.x, &aff.x)),
                (&mut trial.t, (&dir.t, &aff.t)),
                (&mut trial.w, (&dir.w, &aff.w)),
                (&mut trial.y, (&dir.y, &aff.y)),
                (&mut trial.z, (&dir.z, &aff.z)),
                (&mut trial.v, (&dir.v, &aff.v)),
            ] {
                for ((e, &a), &b) in d.iter_mut().zip(c.0).zip(c.1) {
                    *e = a + b;
                }
            }
            let (np, nd) = step_lengths(it, &trial, STEP_FRACTION);
            if np + nd < (1.0 + CORRECTOR_GAIN) * (ap + ad) {
                break;
            }
            std::mem::swap(&mut dir, &mut trial);
            (ap, ad) = (np, nd);
        }
        if ap < 1e-10 && ad < 1e-10 {
            *stalled += 1;
        } else {
            *stalled = 0;
        }
        let update: fn(&mut [f64], f64, &[f64]) = if relief > 0 {
            let (rp, rd) = relieved_steps(it, &dir, relief);
            (ap, ad) = (ap.max(rp), ad.max(rd));
            step_floored
        } else {
            axpy
        };
        for (values, step, change) in [
            (&mut it.x, ap, &dir.x),
            (&mut it.t, ap, &dir.t),
            (&mut it.w, ap, &dir.w),
            (&mut it.y, ad, &dir.y),
            (&mut it.z, ad, &dir.z),
            (&mut it.v, ad, &dir.v),
        ] {
            update(values, step, change);
        }
        // Keep every product strictly positive despite rounding.
        for vec in [
            &mut it.x, &mut it.t, &mut it.w, &mut it.y, &mut it.z, &mut it.v,
        ] {
            for e in vec.iter_mut() {
                if e.is_nan() {
                    return None;
                }
                if *e < f64::MIN_POSITIVE {
                    *e = f64::MIN_POSITIVE;
                }
            }
        }
    }
}

/// The starting point: the centre of the box, row surpluses bounded away
/// from zero, duals satisfying `z − v = q` shifted to be positive, and row
/// duals balancing the complementarity products.
fn start(q: &[f64], u: &[f64], rows: &Rows) -> Iterate {
    let n = q.len();
    let m = rows.len();
    let x: Vec<f64> = u.iter().map(|w| 0.5 * w).collect();
    let t = x.clone();
    let mut w = vec![0.0; m];
    rows.mul(&x, &mut w);
    for (r, wr) in w.iter_mut().enumerate() {
        // Magnitude of the row's activity at the centre.
        let (cols, vals) = rows.row(r);
        let size: f64 = cols.iter().zip(vals).map(|(&c, &a)| a.abs() * x[c]).sum();
        *wr = (*wr - rows.rhs[r]).max(0.1 * size.max(1e-8));
    }
    let shift = 0.1 * (1.0 + inf_norm(q));
    let z: Vec<f64> = q.iter().map(|&c| c.max(0.0) + shift).collect();
    let v: Vec<f64> = q.iter().map(|&c| (-c).max(0.0) + shift).collect();
    let mu = (dot(&x, &z) + dot(&t, &v)) / (2 * n).max(1) as f64;
    let y = w.iter().map(|&wr| mu / wr).collect();
    Iterate { x, t, w, y, z, v }
}

/// Solves the Newton system with right-hand sides `res` into `dir`, from
/// the factored normal equations and iterative refinement. `None` if the
/// solution is not finite.
fn direction(
    rows: &Rows,
    normal: &NormalEquations,
    it: &Iterate,
    res: &Residuals,
    dir: &mut Direction,
    scratch: &mut [f64],
) -> Option<()> {
    let n = it.x.len();
    let m = rows.len();
    // h = Aᵀ g + r_xz/x − (r_tv − v r_u)/t − r_d, g = (r_wy + y r_p)/w.
    for r in 0..m {
        scratch[r] = (res.wy[r] + it.y[r] * res.p[r]) / it.w[r];
    }
    let mut h = vec![0.0; n];
    rows.mul_t(scratch, &mut h);
    for j in 0..n {
        h[j] += res.xz[j] / it.x[j] - (res.tv[j] - it.v[j] * res.u[j]) / it.t[j] - res.d[j];
    }
    dir.x.copy_from_slice(&h);
    normal.solve(&mut dir.x);
    // Iterative refinement against the unregularised matrix, while it
    // reduces the residual.
    let mut mx = vec![0.0; n];
    let mut last = f64::INFINITY;
    for _ in 0..REFINEMENTS {
        normal.mul(rows, &dir.x, &mut mx);
        for j in 0..n {
            mx[j] = h[j] - mx[j];
        }
        let size = inf_norm(&mx);
        if size.is_nan() || size >= 0.5 * last {
            break;
        }
        last = size;
        normal.solve(&mut mx);
        axpy(&mut dir.x, 1.0, &mx);
    }
    if dir.x.iter().any(|e| !e.is_finite()) {
        return None;
    }
    // Back-substitution for the other components.
    rows.mul(&dir.x, &mut dir.w);
    for r in 0..m {
        dir.w[r] -= res.p[r];
        dir.y[r] = (res.wy[r] - it.y[r] * dir.w[r]) / it.w[r];
    }
    // `dz` and `dv` from the complementarity equations, then corrected so
    // that the dual equation `Aᵀdy + dz − dv = r_d` holds to rounding: the
    // error of the normal-equation solve then perturbs only the centring
    // (where it is harmless), not the dual feasibility. The correction is
    // shared between `dz` and `dv` in proportion to `z/x` and `v/t`, which
    // minimises its effect on the complementarity products.
    rows.mul_t(&dir.y, &mut h);
    for j in 0..n {
        dir.t[j] = res.u[j] - dir.x[j];
        let dz = (res.xz[j] - it.z[j] * dir.x[j]) / it.x[j];
        let dv = (res.tv[j] - it.v[j] * dir.t[j]) / it.t[j];
        let error = res.d[j] - h[j] - (dz - dv);
        let (gz, gv) = (it.z[j] / it.x[j], it.v[j] / it.t[j]);
        let share = gz / (gz + gv);
        let share = if share.is_finite() { share } else { 0.5 };
        dir.z[j] = dz + share * error;
        dir.v[j] = dv - (1.0 - share) * error;
    }
    Some(())
}

/// The primal and dual step lengths: `fraction` of the largest steps that
/// keep the variables nonnegative, capped at 1.
fn step_lengths(it: &Iterate, dir: &Direction, fraction: f64) -> (f64, f64) {
    let primal = max_step(&it.x, &dir.x)
        .min(max_step(&it.t, &dir.t))
        .min(max_step(&it.w, &dir.w));
    let dual = max_step(&it.y, &dir.y)
        .min(max_step(&it.z, &dir.z))
        .min(max_step(&it.v, &dir.v));
    ((fraction * primal).min(1.0), (fraction * dual).min(1.0))
}

/// Primal and dual step lengths that let the `relief` first blockers on
/// each side through: [`STEP_FRACTION`] of the distance at which the next
/// variable would reach zero, capped at 1. The variables let through are
/// floored by [`step_floored`], and the linear residuals their floors
/// leave are what the next iterations correct (the method already starts
/// infeasible); the certificate the stretch LP draws from the row duals
/// alone holds for any nonnegative duals, so it stays valid.
fn relieved_steps(it: &Iterate, dir: &Direction, relief: usize) -> (f64, f64) {
    let side = |pairs: [(&[f64], &[f64]); 3]| {
        let mut ratios: Vec<f64> = Vec::new();
        for (v, dv) in pairs {
            for (&a, &d) in v.iter().zip(dv) {
                if d < 0.0 && -a / d < 1.0 / STEP_FRACTION {
                    ratios.push(-a / d);
                }
            }
        }
        if ratios.len() <= relief {
            return 1.0;
        }
        ratios.select_nth_unstable_by(relief, f64::total_cmp);
        (STEP_FRACTION * ratios[relief]).min(1.0)
    };
    (
        side([(&it.x, &dir.x), (&it.t, &dir.t), (&it.w, &dir.w)]),
        side([(&it.y, &dir.y), (&it.z, &dir.z), (&it.v, &dir.v)]),
    )
}

/// `v += a dv`, each entry kept at least [`RELIEF_FLOOR`] times its value.
fn step_floored(v: &mut [f64], a: f64, dv: &[f64]) {
    for (e, &d) in v.iter_mut().zip(dv) {
        let next = *e + a * d;
        // A NaN passes through, for the caller's check to catch.
        *e = if next < RELIEF_FLOOR * *e {
            RELIEF_FLOOR * *e
        } else {
            next
        };
    }
}

/// The largest step `α ≥ 0` with `v + α dv ≥ 0` (`f64::MAX` when no
/// component decreases).
fn max_step(v: &[f64], dv: &[f64]) -> f64 {
    let mut alpha = f64::MAX;
    for (&a, &d) in v.iter().zip(dv) {
        if d < 0.0 {
            alpha = alpha.min(-a / d);
        }
    }
    alpha
}

/// `y += a x`.
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The largest magnitude of the entries (0 for an empty slice).
fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |acc: f64, &e| acc.max(e.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clarabel::algebra::CscMatrix;
    use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// [`super::solve`] never interrupted.
    fn solve(
        q: &[f64],
        lo: &[f64],
        hi: &[f64],
        rows: &[(Vec<(usize, f64)>, f64)],
        groups: &[Range<usize>],
        max_iter: u32,
        tolerance: f64,
    ) -> Option<LpSolution> {
        let stopping = Stopping {
            max_iter,
            tolerance,
            interrupt: &|| false,
        };
        super::solve(q, lo, hi, rows, groups, &stopping)
    }

    /// A row list as taken by [`solve`].
    type RowList = Vec<(Vec<(usize, f64)>, f64)>;

    /// Clarabel's optimal objective of the same LP, or `None` if it fails.
    fn clarabel_objective(q: &[f64], lo: &[f64], hi: &[f64], rows: &RowList) -> Option<f64> {
        let n = q.len();
        let r = rows.len();
        let (mut ii, mut jj, mut vv, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (coefs, rhs)) in rows.iter().enumerate() {
            for &(j, c) in coefs {
                ii.push(i);
                jj.push(j);
                vv.push(-c);
            }
            b.push(-rhs);
        }
        for j in 0..n {
            ii.push(r + j);
            jj.push(j);
            vv.push(-1.0);
            ii.push(r + n + j);
            jj.push(j);
            vv.push(1.0);
        }
        b.extend(lo.iter().map(|l| -l));
        b.extend(hi.iter().copied());
        let total = r + 2 * n;
        let a = CscMatrix::new_from_triplets(total, n, ii, jj, vv);
        let p = CscMatrix::<f64>::zeros((n, n));
        let cones = [NonnegativeConeT(total)];
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .build()
            .ok()?;
        let mut solver = DefaultSolver::new(&p, q, &a, &b, &cones, settings).ok()?;
        solver.solve();
        Some(dot(q, &solver.solution.x))
    }

    /// The weak-duality bound `b·y + Σ_j min(r_j·lo_j, r_j·hi_j)`,
    /// `r = q − Aᵀy`.
    fn certificate(
        q: &[f64],
        lo: &[f64],
        hi: &[f64],
        rows: &[(Vec<(usize, f64)>, f64)],
        y: &[f64],
    ) -> f64 {
        let mut reduced = q.to_vec();
        let mut value = 0.0;
        for ((coefs, rhs), &yr) in rows.iter().zip(y) {
            assert!(yr >= 0.0 && yr.is_finite());
            value += yr * rhs;
            for &(j, c) in coefs {
                reduced[j] -= yr * c;
            }
        }
        for (j, r) in reduced.into_iter().enumerate() {
            value += (r * lo[j]).min(r * hi[j]);
        }
        value
    }

    /// A random feasible LP: rows satisfied by a random point of the box.
    fn random_lp(seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, RowList) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(2..25);
        let m = rng.gen_range(1..60);
        let signed = matches!(seed % 3, 0);
        let q: Vec<f64> = (0..n)
            .map(|_| {
                if rng.gen_bool(0.1) {
                    0.0
                } else {
                    rng.gen_range(0.0..10.0)
                }
            })
            .collect();
        let lo: Vec<f64> = (0..n).map(|_| rng.gen_range(-5.0..5.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|l| l + rng.gen_range(0.5..10.0)).collect();
        let point: Vec<f64> = lo
            .iter()
            .zip(&hi)
            .map(|(&l, &h)| rng.gen_range(l..h))
            .collect();
        let mut rows = Vec::new();
        for _ in 0..m {
            let len = rng.gen_range(1..=n);
            let coefs: Vec<(usize, f64)> = (0..len)
                .map(|_| {
                    let c = rng.gen_range(0.0..5.0);
                    let c = if signed && rng.gen_bool(0.3) { -c } else { c };
                    (rng.gen_range(0..n), c)
                })
                .collect();
            let act: f64 = coefs.iter().map(|&(j, c)| c * point[j]).sum();
            let rhs = act - rng.gen_range(0.0..2.0);
            rows.push((coefs, rhs));
        }
        (q, lo, hi, rows)
    }

    /// A caller's interruption ends the solve before the next iteration,
    /// with the iterate reached (still within its box, still certifying a
    /// valid bound), however many iterations were allowed.
    /// A solve stopped at its iteration cap and carried on reaches the
    /// very iterate of one solve allowed the sum: nothing of the interior
    /// point's state is lost in between.
    #[test]
    fn a_solve_carried_on_is_the_solve_run_through() {
        let never = || false;
        let cap = |max_iter| Stopping {
            max_iter,
            tolerance: TOLERANCE,
            interrupt: &never,
        };
        let mut stopped = 0;
        for seed in 0..10 {
            let (q, lo, hi, rows) = random_lp(seed);
            let through = super::solve(&q, &lo, &hi, &rows, &[], &cap(12)).expect("solves");
            let mut carried = Solve::new(&q, &lo, &hi, &rows, &[]).expect("presolves");
            let first = carried.run(&cap(5)).expect("iterate");
            if first.iterations == 5 && !first.converged {
                stopped += 1;
            }
            let second = carried.run(&cap(12)).expect("iterate");
            assert_eq!(second.iterations, through.iterations, "seed {seed}");
            assert_eq!(second.converged, through.converged, "seed {seed}");
            assert_eq!(second.x, through.x, "seed {seed}");
            assert_eq!(second.y, through.y, "seed {seed}");
        }
        assert!(stopped >= 8, "only {stopped} of 10 solves had more to do");
    }

    #[test]
    fn an_interruption_ends_the_solve_at_the_next_iteration() {
        for seed in 0..10 {
            let (q, lo, hi, rows) = random_lp(seed);
            let full = solve(&q, &lo, &hi, &rows, &[], 100, TOLERANCE).expect("solves");
            assert!(full.converged && full.iterations > 3, "seed {seed}");
            let optimum = dot(&q, &full.x);
            let polls = std::cell::Cell::new(0u32);
            let stop = || {
                polls.set(polls.get() + 1);
                polls.get() > 3
            };
            let stopping = Stopping {
                max_iter: 100,
                tolerance: TOLERANCE,
                interrupt: &stop,
            };
            let cut = super::solve(&q, &lo, &hi, &rows, &[], &stopping).expect("iterate");
            assert_eq!(cut.iterations, 3, "seed {seed}");
            assert_eq!(polls.get(), 4, "seed {seed}: polled after the stop");
            assert!(!cut.converged, "seed {seed}");
            for (j, &xj) in cut.x.iter().enumerate() {
                assert!(lo[j] <= xj && xj <= hi[j], "seed {seed}");
            }
            let cert = certificate(&q, &lo, &hi, &rows, &cut.y);
            assert!(
                cert <= optimum + 1e-9 * (1.0 + optimum.abs()),
                "seed {seed}: {cert} > {optimum}"
            );
        }
    }

    /// An LP as the tests build it: `q`, `lo`, `hi` and the rows.
    type LpRef<'a> = (
        &'a [f64],
        &'a [f64],
        &'a [f64],
        &'a [(Vec<(usize, f64)>, f64)],
    );

    /// Asserts that `sol` reaches the `reference` optimum and that its duals
    /// certify it, both to 10⁻⁶.
    fn assert_optimal_and_certified(label: &str, lp: LpRef<'_>, sol: &LpSolution, reference: f64) {
        let (q, lo, hi, rows) = lp;
        let obj = dot(q, &sol.x);
        let scale = 1.0 + obj.abs();
        assert!(
            (obj - reference).abs() <= 1e-6 * scale,
            "{label}: {obj} vs clarabel {reference}"
        );
        let cert = certificate(q, lo, hi, rows, &sol.y);
        assert!(cert <= obj + 1e-9 * scale, "{label}: {cert} > {obj}");
        assert!(
            obj - cert <= 1e-6 * scale,
            "{label}: certificate {cert} far from {obj}"
        );
    }

    #[test]
    fn matches_clarabel_and_certifies() {
        for seed in 0..30 {
            let (q, lo, hi, rows) = random_lp(seed);
            let sol = solve(&q, &lo, &hi, &rows, &[], 100, TOLERANCE).expect("solves");
            assert!(sol.converged, "seed {seed}: not converged");
            assert_eq!(sol.y.len(), rows.len());
            for (j, &xj) in sol.x.iter().enumerate() {
                assert!(lo[j] <= xj && xj <= hi[j]);
            }
            let reference = clarabel_objective(&q, &lo, &hi, &rows).expect("clarabel");
            let lp = (&q[..], &lo[..], &hi[..], &rows[..]);
            assert_optimal_and_certified(&format!("seed {seed}"), lp, &sol, reference);
            // Primal feasibility of the rows.
            for (coefs, rhs) in &rows {
                let act: f64 = coefs.iter().map(|&(j, c)| c * sol.x[j]).sum();
                assert!(act >= rhs - 1e-6 * (1.0 + rhs.abs()));
            }
        }
    }

    #[test]
    fn letting_blockers_through_keeps_the_optimum_and_the_certificate() {
        let mut changed = 0;
        for seed in 0..30 {
            let (q, lo, hi, rows) = random_lp(seed);
            let reference = clarabel_objective(&q, &lo, &hi, &rows).expect("clarabel");
            let plain = solve(&q, &lo, &hi, &rows, &[], 100, TOLERANCE).expect("solves");
            for relief in [1, 3] {
                let sol = Solve::new(&q, &lo, &hi, &rows, &[])
                    .expect("presolves")
                    .relieving(relief)
                    .run(&Stopping {
                        max_iter: 100,
                        tolerance: TOLERANCE,
                        interrupt: &|| false,
                    })
                    .expect("solves");
                assert!(sol.converged, "seed {seed}, relief {relief}: not converged");
                let lp = (&q[..], &lo[..], &hi[..], &rows[..]);
                let label = format!("seed {seed}, relief {relief}");
                assert_optimal_and_certified(&label, lp, &sol, reference);
                if sol.iterations != plain.iterations || sol.y != plain.y {
                    changed += 1;
                }
            }
        }
        // The relief took other steps on most of them.
        assert!(changed >= 40, "relief changed only {changed} of 60 solves");
    }

    #[test]
    fn relieved_steps_pass_exactly_the_first_blockers() {
        // Primal: x blocks at 0.2 and 0.4, w at 0.3, the rest at 0.8 or never.
        let mut it = Iterate::zeros(3, 2);
        let mut dir = Direction::zeros(3, 2);
        it.x = vec![0.2, 0.4, 1.0];
        dir.x = vec![-1.0, -1.0, 1.0];
        it.t = vec![0.8, 1.0, 1.0];
        dir.t = vec![-1.0, 0.0, 0.0];
        it.w = vec![0.3, 1.0];
        dir.w = vec![-1.0, 2.0];
        // Dual: nothing blocks before 1.
        it.y = vec![1.0, 1.0];
        it.z = vec![1.0; 3];
        it.v = vec![1.0; 3];
        dir.y = vec![-0.5, 0.0];
        let plain = step_lengths(&it, &dir, STEP_FRACTION);
        assert_eq!(plain, (STEP_FRACTION * 0.2, 1.0));
        for (relief, next) in [(1, 0.3), (2, 0.4)] {
            let (p, d) = relieved_steps(&it, &dir, relief);
            assert!((p - STEP_FRACTION * next).abs() < 1e-15, "{relief}: {p}");
            assert_eq!(d, 1.0);
        }
        // Three let through: the next blocker is 0.8.
        let (p, _) = relieved_steps(&it, &dir, 3);
        assert!((p - STEP_FRACTION * 0.8).abs() < 1e-15);
        // A value let through is floored, not crossed.
        let mut x = it.x.clone();
        step_floored(&mut x, 0.5, &dir.x);
        assert_eq!(x[0], RELIEF_FLOOR * 0.2);
        assert!((x[1] - RELIEF_FLOOR * 0.4).abs() < 1e-15);
        assert_eq!(x[2], 1.5);
    }

    /// A random LP of the blocked shape: groups of columns, global columns
    /// after them, every row within one group plus some global columns (and
    /// some rows global only).
    /// An LP (`q`, `lo`, `hi`, rows) and its column groups.
    type BlockedLp = (Vec<f64>, Vec<f64>, Vec<f64>, RowList, Vec<Range<usize>>);

    fn random_blocked_lp(seed: u64) -> BlockedLp {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut groups = Vec::new();
        let mut next = 0;
        for _ in 0..rng.gen_range(1..=4) {
            let len = rng.gen_range(1..=5);
            groups.push(next..next + len);
            next += len;
        }
        let n = next + rng.gen_range(1..=6);
        let lo: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..1.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|l| l + rng.gen_range(0.5..5.0)).collect();
        // Group columns cost nothing (as potentials do); global ones cost.
        let q: Vec<f64> = (0..n)
            .map(|j| {
                if j < next {
                    rng.gen_range(-0.5..0.5)
                } else {
                    rng.gen_range(0.1..3.0)
                }
            })
            .collect();
        // Feasible by construction: every row holds at this point of the box.
        let point: Vec<f64> = (0..n).map(|j| rng.gen_range(lo[j]..hi[j])).collect();
        let mut rows = RowList::new();
        for _ in 0..rng.gen_range(3..=25) {
            let mut coefs = Vec::new();
            if rng.gen_bool(0.8) {
                let g = &groups[rng.gen_range(0..groups.len())];
                for _ in 0..rng.gen_range(1..=3) {
                    coefs.push((rng.gen_range(g.clone()), rng.gen_range(-2.0..2.0)));
                }
            }
            for _ in 0..rng.gen_range(1..=3) {
                coefs.push((rng.gen_range(next..n), rng.gen_range(0.2..2.0)));
            }
            let act: f64 = coefs.iter().map(|&(j, c)| c * point[j]).sum();
            rows.push((coefs, act - rng.gen_range(0.0..0.5)));
        }
        (q, lo, hi, rows, groups)
    }

    #[test]
    fn blocked_layout_matches_dense_and_clarabel() {
        for seed in 0..40 {
            let (q, lo, hi, rows, groups) = random_blocked_lp(seed);
            let dense = solve(&q, &lo, &hi, &rows, &[], 100, TOLERANCE).expect("dense");
            let blocked = solve(&q, &lo, &hi, &rows, &groups, 100, TOLERANCE).expect("blocked");
            assert!(
                dense.converged && blocked.converged,
                "seed {seed}: not converged"
            );
            let (a, b) = (dot(&q, &dense.x), dot(&q, &blocked.x));
            let reference = clarabel_objective(&q, &lo, &hi, &rows).expect("clarabel");
            let scale = 1.0 + a.abs();
            assert!(
                (a - b).abs() <= 1e-6 * scale,
                "seed {seed}: dense {a} blocked {b}"
            );
            assert!(
                (b - reference).abs() <= 1e-6 * scale,
                "seed {seed}: {b} vs {reference}"
            );
            let cert = certificate(&q, &lo, &hi, &rows, &blocked.y);
            assert!(
                cert <= b + 1e-9 * scale && b - cert <= 1e-6 * scale,
                "seed {seed}"
            );
        }
        // A row across two groups and a global column does not fit the
        // layout; across groups alone it does (a linking row).
        let q = vec![1.0; 3];
        let (lo, hi) = (vec![0.0; 3], vec![1.0; 3]);
        let rows: RowList = vec![(vec![(0, 1.0), (1, 1.0), (2, 1.0)], 0.5)];
        assert!(solve(&q, &lo, &hi, &rows, &[0..1, 1..2], 100, TOLERANCE).is_none());
        let linking: RowList = vec![
            (vec![(0, 1.0), (1, 1.0)], 0.5),
            (vec![(1, 1.0), (2, 2.0)], 1.0),
        ];
        let across = solve(&q, &lo, &hi, &linking, &[0..1, 1..2], 100, TOLERANCE).expect("fits");
        let dense = solve(&q, &lo, &hi, &linking, &[], 100, TOLERANCE).expect("dense");
        let value = |x: &[f64]| dot(&q, x);
        assert!((value(&across.x) - value(&dense.x)).abs() <= 1e-6);
        let whole = [Range { start: 0, end: 2 }];
        assert!(solve(&q, &lo, &hi, &rows, &whole, 100, TOLERANCE).is_some());
        // Groups not laid out from column 0, or overlapping: refused.
        let late = [Range { start: 1, end: 2 }];
        assert!(solve(&q, &lo, &hi, &rows, &late, 100, TOLERANCE).is_none());
        assert!(solve(&q, &lo, &hi, &rows, &[0..2, 1..3], 100, TOLERANCE).is_none());
    }

    #[test]
    fn degenerate_rows_do_not_panic() {
        let q = vec![1.0, 2.0, 0.5];
        let lo = vec![0.0, 0.0, 0.0];
        let hi = vec![1.0, 1.0, 1.0];
        let row = (vec![(0, 1.0), (1, 1.0), (2, 1.0)], 1.5);
        let rows: RowList = vec![
            (vec![], 0.0),
            (vec![(1, 0.0), (2, 0.0)], -1.0),
            row.clone(),
            row.clone(),
            row,
            (vec![(0, 1.0), (0, 1.0)], 1.0),
        ];
        let sol = solve(&q, &lo, &hi, &rows, &[], 100, TOLERANCE).expect("feasible");
        let obj = dot(&q, &sol.x);
        // Optimum: x0 = 0.5 (from 2·x0 ≥ 1), x2 = 1 → 0.5 + 0.5 = 1.
        assert!((obj - 1.0).abs() < 1e-6, "{obj}");
        let cert = certificate(&q, &lo, &hi, &rows, &sol.y);
        assert!(cert <= obj + 1e-9 && obj - cert < 1e-6, "{cert} vs {obj}");
        assert_eq!(sol.y[0], 0.0);
        assert_eq!(sol.y[1], 0.0);

        // Infeasible: an empty row with positive right-hand side, or a row
        // beyond the box.
        assert!(solve(&q, &lo, &hi, &[(vec![], 1.0)], &[], 100, TOLERANCE).is_none());
        assert!(solve(&q, &lo, &hi, &[(vec![(0, 1.0)], 2.0)], &[], 100, TOLERANCE).is_none());
        // Malformed input.
        assert!(solve(&q, &lo, &hi, &[(vec![(3, 1.0)], 0.5)], &[], 100, TOLERANCE).is_none());
        assert!(solve(&q, &hi, &lo, &[], &[], 100, TOLERANCE).is_none());
        assert!(solve(&[f64::NAN], &[0.0], &[1.0], &[], &[], 100, TOLERANCE).is_none());
        assert!(solve(&q, &lo, &hi[..2], &[], &[], 100, TOLERANCE).is_none());
        // No rows, no columns, no iterations: no panic.
        let sol = solve(&q, &lo, &hi, &[], &[], 100, TOLERANCE).expect("box only");
        assert_eq!(sol.x, lo);
        let sol = solve(&[], &[], &[], &[(vec![], -1.0)], &[], 100, TOLERANCE).expect("empty");
        assert_eq!(sol.y, vec![0.0]);
        let _ = solve(&q, &lo, &hi, &rows, &[], 0, TOLERANCE);
        // Tight row: feasible only at the top corner.
        let tight: RowList = vec![(vec![(0, 1.0), (1, 1.0)], 2.0)];
        let _ = solve(&q, &lo, &hi, &tight, &[], 100, TOLERANCE);
    }

    #[test]
    #[ignore]
    fn speed_versus_clarabel() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 490;
        let m = 10_000;
        let lo = vec![1.0; n];
        let hi = vec![97.0; n];
        let q: Vec<f64> = (0..n).map(|_| rng.gen_range(0.1..10.0)).collect();
        let rows: RowList = (0..m)
            .map(|_| {
                let coefs: Vec<(usize, f64)> = (0..50)
                    .map(|_| (rng.gen_range(0..n), f64::from(rng.gen_range(1..=5))))
                    .collect();
                let rhs = 0.5 * coefs.iter().map(|&(j, c)| c * hi[j]).sum::<f64>();
                (coefs, rhs)
            })
            .collect();
        let begin = std::time::Instant::now();
        let sol = solve(&q, &lo, &hi, &rows, &[], 200, TOLERANCE).expect("solves");
        let ours = begin.elapsed();
        let obj = dot(&q, &sol.x);
        let cert = certificate(&q, &lo, &hi, &rows, &sol.y);
        let begin = std::time::Instant::now();
        let reference = clarabel_objective(&q, &lo, &hi, &rows).expect("clarabel");
        let theirs = begin.elapsed();
        println!(
            "ipm: {ours:?} ({} iterations, converged {}), objective {obj}, certificate {cert}",
            sol.iterations, sol.converged
        );
        println!("clarabel: {theirs:?}, objective {reference}");
        println!(
            "relative difference {}",
            (obj - reference).abs() / obj.abs()
        );
    }
}
