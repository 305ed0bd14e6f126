//! The normal equations `(Aᵀ D A + diag) x = h` of the interior point
//! method (`ipm`), formed and factored for one of two column layouts:
//!
//! - **dense**: every column global. The matrix is formed whole and
//!   factored by a dense Cholesky: best when the columns are few (one per
//!   conversation) and the rows long.
//! - **blocked**: the first columns are split into groups, the rest are
//!   global, and every row touches at most one group (plus any global
//!   columns). Ordered groups-first the matrix is a block arrow,
//!
//!   ```text
//!       ⎡ B₁          C₁ ⎤
//!       ⎢     ⋱       ⋮  ⎥
//!       ⎢        B_s  C_s⎥
//!       ⎣ C₁ᵀ  ⋯  C_sᵀ  G ⎦
//!   ```
//!
//!   and is solved through the Schur complement `S = G − Σ C_iᵀ B_i⁻¹ C_i`
//!   (each `B_i` inverted densely, `S` factored densely): the cost is
//!   `Σ |B_i|³ + Σ nnz(C_i)²` instead of `(Σ |B_i| + |G|)³`. The potential
//!   form of the spreading LP has this shape: one group per source vertex
//!   (its distance labels), the edge lengths global, and every row either
//!   one edge of one source's shortest-path constraints or one source's
//!   spreading constraint.
//!
//!   Rows across several groups and no global column (**linking rows**:
//!   the set and subgraph constraints on the potentials of their members)
//!   are left out of the arrow `M₀` and brought in by the
//!   Sherman–Morrison–Woodbury identity, `(M₀ + U D Uᵀ)⁻¹ = M₀⁻¹ −
//!   M₀⁻¹ U K⁻¹ Uᵀ M₀⁻¹` with the capacitance `K = D⁻¹ + Uᵀ M₀⁻¹ U`
//!   (`L × L` for `L` linking rows, formed block by block from the blocks'
//!   inverses and the Schur complement, scaled to a unit diagonal and
//!   factored densely): every solve is then two solves with the arrow.
//!   It is exact, but its accuracy rests on the arrow alone being well
//!   conditioned: when the rows' weights spread over the last orders of
//!   magnitude near an optimum, and columns are held only by linking rows,
//!   `M₀⁻¹ b` and its correction cancel, and the interior point stops a
//!   little short (its certificate stays valid; within 10⁻⁴ on the tests'
//!   LPs).
//!
//! The kernels are cache-blocked (a right-looking Cholesky by panels, the
//! inverse as `L⁻ᵀ L⁻¹` in contiguous dot products, `S` updated row by row
//! for four blocks at a time, the capacitance's products in tiles of two
//! rows by four over panels that stay in cache) and built twice, portable
//! and AVX2, chosen at run time; both do the same additions in the same
//! order (no fused multiply-add), as do the two threads that share the
//! blocks. On the 279-VM cluster's size one factorisation went from 7.6 s
//! to 1.5 s (`factor_speed` below), and with 1 363 linking rows from
//! 17.4 s to 4.0 s (`capacitance_speed`).
//!
//! Both keep the diagonal strictly positive (every column is boxed), add a
//! small regularisation relative to the largest diagonal entry, and replace
//! a non-positive pivot by a huge one (dropping that direction) rather than
//! failing.

// Dense kernels on parallel arrays read more plainly with index loops.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

/// Diagonal regularisation, relative to the largest diagonal entry.
const REGULARISATION: f64 = 1e-12;
/// Replacement of a non-positive Cholesky pivot (drops that direction).
const HUGE_PIVOT: f64 = 1e64;

/// Defines `$name`, which runs `$portable` compiled for AVX2 where the
/// processor has it (the kernels are `#[inline(always)]`, so they are
/// compiled into it), and as it is elsewhere. No fused multiply-add: the
/// arithmetic, and so the bound, is the same either way.
macro_rules! with_avx2 {
    ($(#[$doc:meta])* fn $name:ident = $portable:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has just been found to support AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}

/// Read access to the constraint rows: `row(r)` gives the columns
/// (ascending, distinct) and coefficients of row `r`.
pub(super) trait RowAccess {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Columns and coefficients of row `r`.
    fn row(&self, r: usize) -> (&[usize], &[f64]);
}

/// One group's diagonal block and its coupling to the global columns.
struct Block {
    /// First column of the group.
    start: usize,
    /// Number of columns.
    len: usize,
    /// `B` (lower triangle, row-major `len × len`), then overwritten by
    /// its inverse (full, symmetric).
    inv: Vec<f64>,
    /// Entries of `C`: (global column − global start, group column −
    /// start, value), sorted and merged after forming.
    coupling: Vec<(usize, usize, f64)>,
}

/// The normal equations, formed and factored.
pub(super) struct NormalEquations {
    /// Number of columns.
    n: usize,
    /// First global column (0 for the dense layout).
    global: usize,
    /// Group of every non-global column.
    group_of: Vec<usize>,
    blocks: Vec<Block>,
    /// Scratch of the two halves of the blocks (see [`Self::factor`]).
    workspaces: [Workspace; 2],
    /// The second half's share of the Schur complement.
    spare: Vec<f64>,
    /// `S` (or the whole matrix when dense), then its Cholesky factor
    /// (lower triangle, row-major, `g × g` with `g = n − global`).
    chol: Vec<f64>,
    /// Row weights `D`.
    pub(super) d: Vec<f64>,
    /// The diagonal term.
    pub(super) diag: Vec<f64>,
    /// Rows across groups (and no global column), with a positive weight
    /// at the last factorisation: their columns, coefficients and weight.
    /// They are left out of the block arrow and brought in by the
    /// Sherman–Morrison–Woodbury identity (see [`Self::solve`]).
    linking: Vec<(Vec<usize>, Vec<f64>, f64)>,
    /// Cholesky factor of the capacitance `D_L⁻¹ + Uᵀ M₀⁻¹ U` of the
    /// linking rows `U` (lower triangle, row-major).
    capacitance: Vec<f64>,
    /// The capacitance's diagonal scaling: `K = S⁻¹ K̃ S⁻¹`, `K̃` factored.
    capacitance_scale: Vec<f64>,
}

impl NormalEquations {
    /// For `n` columns and `m` rows, with `groups` (disjoint, contiguous
    /// from column 0) before the global columns. `None` if the groups are
    /// not laid out so.
    pub(super) fn new(n: usize, m: usize, groups: &[Range<usize>]) -> Option<Self> {
        let mut next = 0;
        let mut group_of = Vec::new();
        let mut blocks = Vec::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            if g.start != next || g.end <= g.start || g.end > n {
                return None;
            }
            next = g.end;
            group_of.resize(g.end, i);
            blocks.push(Block {
                start: g.start,
                len: g.len(),
                inv: vec![0.0; g.len() * g.len()],
                coupling: Vec::new(),
            });
        }
        let g = n - next;
        let largest = groups.iter().map(|g| g.len()).max().unwrap_or(0);
        Some(NormalEquations {
            workspaces: [Workspace::new(largest), Workspace::new(largest)],
            spare: if groups.len() > 1 {
                vec![0.0; g * g]
            } else {
                Vec::new()
            },
            n,
            global: next,
            group_of,
            blocks,
            chol: vec![0.0; g * g],
            d: vec![0.0; m],
            diag: vec![0.0; n],
            linking: Vec::new(),
            capacitance: Vec::new(),
            capacitance_scale: Vec::new(),
        })
    }

    /// Whether every row touches at most one group, or several groups and
    /// no global column (a linking row).
    pub(super) fn fits(&self, rows: &impl RowAccess) -> bool {
        (0..rows.len()).all(|r| {
            let (cols, _) = rows.row(r);
            let split = cols.partition_point(|&c| c < self.global);
            split == 0
                || self.group_of[cols[0]] == self.group_of[cols[split - 1]]
                || split == cols.len()
        })
    }

    /// Forms and factors the matrix for the current `d` and `diag`. `None`
    /// if a non-finite number appears.
    ///
    /// The blocks are eliminated in two fixed halves, the second on its own
    /// thread into its own share of `S`, added at the end: the same sums in
    /// the same order whatever the number of cores.
    pub(super) fn factor(&mut self, rows: &impl RowAccess) -> Option<()> {
        let (n, gs) = (self.n, self.global);
        let g = n - gs;
        self.chol.iter_mut().for_each(|e| *e = 0.0);
        for b in &mut self.blocks {
            b.inv.iter_mut().for_each(|e| *e = 0.0);
            b.coupling.clear();
        }
        self.linking.clear();
        for r in 0..rows.len() {
            let dr = self.d[r];
            if dr == 0.0 {
                continue;
            }
            let (cols, vals) = rows.row(r);
            // Group entries come first (columns ascend, groups precede).
            let split = cols.partition_point(|&c| c < gs);
            if split > 0 && self.group_of[cols[0]] != self.group_of[cols[split - 1]] {
                self.linking.push((cols.to_vec(), vals.to_vec(), dr));
                continue;
            }
            let (gcols, gvals) = (&cols[split..], &vals[split..]);
            for (k, (&ck, &ak)) in gcols.iter().zip(gvals).enumerate() {
                let f = dr * ak;
                let dest = &mut self.chol[(ck - gs) * g..(ck - gs) * g + g];
                for (&cl, &al) in gcols[..=k].iter().zip(&gvals[..=k]) {
                    dest[cl - gs] += f * al;
                }
            }
            if split > 0 {
                let block = &mut self.blocks[self.group_of[cols[0]]];
                let (start, len) = (block.start, block.len);
                for k in 0..split {
                    let f = dr * vals[k];
                    let i = cols[k] - start;
                    let dest = &mut block.inv[i * len..i * len + len];
                    for l in 0..=k {
                        dest[cols[l] - start] += f * vals[l];
                    }
                    for (&cj, &aj) in gcols.iter().zip(gvals) {
                        block.coupling.push((cj - gs, i, f * aj));
                    }
                }
            }
        }
        let mut max_diag = 0.0f64;
        for j in 0..g {
            self.chol[j * g + j] += self.diag[gs + j];
            max_diag = max_diag.max(self.chol[j * g + j]);
        }
        for b in &mut self.blocks {
            for i in 0..b.len {
                b.inv[i * b.len + i] += self.diag[b.start + i];
                max_diag = max_diag.max(b.inv[i * b.len + i]);
            }
        }
        if !max_diag.is_finite() {
            return None;
        }
        let reg = REGULARISATION * max_diag;
        let half = self.blocks.len().div_ceil(2);
        let (first, second) = self.blocks.split_at_mut(half);
        let [ws0, ws1] = &mut self.workspaces;
        let (chol, spare) = (&mut self.chol, &mut self.spare);
        let (done0, done1) = if second.is_empty() {
            (eliminate(first, chol, g, reg, max_diag, ws0), Some(()))
        } else {
            spare.iter_mut().for_each(|e| *e = 0.0);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| eliminate(second, spare, g, reg, max_diag, ws1));
                let mine = eliminate(first, chol, g, reg, max_diag, ws0);
                let theirs = other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (mine, theirs)
            })
        };
        done0?;
        done1?;
        if !self.spare.is_empty() {
            for j in 0..g {
                let row = j * g..j * g + j + 1;
                for (a, b) in self.chol[row.clone()].iter_mut().zip(&self.spare[row]) {
                    *a += b;
                }
            }
        }
        dense_cholesky(&mut self.chol, g, reg, max_diag)?;
        self.factor_capacitance()
    }

    /// Forms and factors the capacitance matrix `K = D_L⁻¹ + Uᵀ M₀⁻¹ U` of
    /// the linking rows `U` against the block arrow `M₀` just factored:
    /// `Uᵀ M₀⁻¹ U = Σ_i U_iᵀ B_i⁻¹ U_i + Yᵀ Y` with `W = Σ_i C_iᵀ B_i⁻¹ U_i`
    /// and `Y = L_S⁻¹ W` (the linking rows have no global column; `L_S` is
    /// the Schur complement's factor).
    ///
    /// The blocks' terms are dense products on two threads, each over a
    /// fixed half of the blocks into its own share, added at the end (the
    /// same sums in the same order whatever the number of cores); `Y` is
    /// solved sixteen right-hand sides per pass over `L_S`. Row by row,
    /// with sparse gathers and a full solve per row, this took 17 s of
    /// every iteration of the 279-VM cluster's second set round (1 363
    /// linking rows); see `capacitance_speed` below.
    fn factor_capacitance(&mut self) -> Option<()> {
        let l = self.linking.len();
        self.capacitance.clear();
        if l == 0 {
            return Some(());
        }
        let g = self.n - self.global;
        // Every block's entries of the linking rows: (row, column in the
        // block, coefficient), rows ascending.
        let mut per_block: Vec<Vec<(usize, usize, f64)>> = vec![Vec::new(); self.blocks.len()];
        for (li, (cols, vals, _)) in self.linking.iter().enumerate() {
            for (&c, &a) in cols.iter().zip(vals) {
                let bi = self.group_of[c];
                per_block[bi].push((li, c - self.blocks[bi].start, a));
            }
        }
        let half = self.blocks.len().div_ceil(2);
        let (first, second) = self.blocks.split_at(half);
        let (entries_first, entries_second) = per_block.split_at(half);
        let mut k = vec![0.0; l * l];
        let mut w = vec![0.0; l * g];
        if second.is_empty() {
            block_terms(first, entries_first, l, g, &mut k, &mut w);
        } else {
            let (mut k2, mut w2) = (vec![0.0; l * l], vec![0.0; l * g]);
            std::thread::scope(|scope| {
                let (k2, w2) = (&mut k2, &mut w2);
                scope.spawn(move || block_terms(second, entries_second, l, g, k2, w2));
                block_terms(first, entries_first, l, g, &mut k, &mut w);
            });
            for (a, b) in k.iter_mut().zip(&k2) {
                *a += b;
            }
            for (a, b) in w.iter_mut().zip(&w2) {
                *a += b;
            }
        }
        // Y = L_S⁻¹ W, row by row of W, the rows split between the threads.
        if g > 0 {
            let chol = &self.chol;
            let split = l / 2 * g;
            let (mine, theirs) = w.split_at_mut(split);
            std::thread::scope(|scope| {
                scope.spawn(move || forward_solve_rows(chol, g, theirs));
                forward_solve_rows(chol, g, mine);
            });
            // K += Y Yᵀ: row i costs i + 1 products, so the first 1/√2 of
            // the rows cost as much as the rest.
            let split = (l as f64 / std::f64::consts::SQRT_2) as usize;
            let (mine, theirs) = k.split_at_mut(split * l);
            let w = &w;
            std::thread::scope(|scope| {
                scope.spawn(move || add_gram_rows(w, g, split..l, theirs, l));
                add_gram_rows(w, g, 0..split, mine, l);
            });
        }
        // Scaled to a unit diagonal: the weights of the linking rows span
        // many orders of magnitude (active rows large, slack rows tiny), and
        // a regularisation relative to the largest entry would swamp the
        // active rows' pivots.
        let mut scale = vec![0.0; l];
        for (li, (_, _, dr)) in self.linking.iter().enumerate() {
            k[li * l + li] += 1.0 / dr;
            let kd = k[li * l + li];
            if !(kd.is_finite() && kd > 0.0) {
                return None;
            }
            scale[li] = 1.0 / kd.sqrt();
        }
        for l1 in 0..l {
            for l2 in 0..=l1 {
                k[l1 * l + l2] *= scale[l1] * scale[l2];
            }
        }
        dense_cholesky(&mut k, l, REGULARISATION, 1.0)?;
        self.capacitance = k;
        self.capacitance_scale = scale;
        Some(())
    }

    /// Solves the factored system in place (`b` becomes `x`): the block
    /// arrow `M₀` by its Schur complement, and the linking rows `U` by
    /// `(M₀ + U D_L Uᵀ)⁻¹ = M₀⁻¹ − M₀⁻¹ U K⁻¹ Uᵀ M₀⁻¹`.
    pub(super) fn solve(&self, b: &mut [f64]) {
        self.solve_arrow(b);
        let l = self.linking.len();
        if l == 0 {
            return;
        }
        let mut u: Vec<f64> = self
            .linking
            .iter()
            .map(|(cols, vals, _)| cols.iter().zip(vals).map(|(&c, &a)| a * b[c]).sum())
            .collect();
        for (ui, si) in u.iter_mut().zip(&self.capacitance_scale) {
            *ui *= si;
        }
        chol_solve(&self.capacitance, l, &mut u);
        for (ui, si) in u.iter_mut().zip(&self.capacitance_scale) {
            *ui *= si;
        }
        let mut v = vec![0.0; self.n];
        for ((cols, vals, _), &t) in self.linking.iter().zip(&u) {
            for (&c, &a) in cols.iter().zip(vals) {
                v[c] += a * t;
            }
        }
        self.solve_arrow(&mut v);
        for (x, vx) in b.iter_mut().zip(&v) {
            *x -= vx;
        }
    }

    /// Solves the block arrow alone, in place.
    fn solve_arrow(&self, b: &mut [f64]) {
        let gs = self.global;
        let g = self.n - gs;
        let (head, tail) = b.split_at_mut(gs);
        // t_i = B_i⁻¹ h_i, then h_g −= Σ C_iᵀ t_i.
        let mut t = vec![0.0; gs];
        for blk in &self.blocks {
            let r = blk.start..blk.start + blk.len;
            sym_mul(&blk.inv, blk.len, &head[r.clone()], &mut t[r]);
            for &(j, i, c) in &blk.coupling {
                tail[j] -= c * t[blk.start + i];
            }
        }
        chol_solve(&self.chol, g, tail);
        // x_i = t_i − B_i⁻¹ C_i x_g.
        let mut cx = vec![0.0; gs];
        for blk in &self.blocks {
            for &(j, i, c) in &blk.coupling {
                cx[blk.start + i] += c * tail[j];
            }
            let r = blk.start..blk.start + blk.len;
            sym_mul(&blk.inv, blk.len, &cx[r.clone()], &mut head[r.clone()]);
            for k in r {
                head[k] = t[k] - head[k];
            }
        }
    }

    /// `out = (Aᵀ D A + diag) x`, from the rows (unregularised).
    pub(super) fn mul(&self, rows: &impl RowAccess, x: &[f64], out: &mut [f64]) {
        for j in 0..self.n {
            out[j] = self.diag[j] * x[j];
        }
        for r in 0..rows.len() {
            let dr = self.d[r];
            if dr == 0.0 {
                continue;
            }
            let (cols, vals) = rows.row(r);
            let ax: f64 = cols.iter().zip(vals).map(|(&c, &a)| a * x[c]).sum();
            let f = dr * ax;
            for (&c, &a) in cols.iter().zip(vals) {
                out[c] += f * a;
            }
        }
    }
}

with_avx2! {
    /// Adds the blocks' terms of the capacitance: `U_iᵀ B_i⁻¹ U_i` to `k`
    /// (`l × l`, lower triangle) and `C_iᵀ B_i⁻¹ U_i` to `w` (`l × g`, a
    /// row per linking row), from each block's entries of the linking rows
    /// (row, column in the block, coefficient; rows ascending).
    fn block_terms = block_terms_portable(
        blocks: &[Block],
        entries: &[Vec<(usize, usize, f64)>],
        l: usize,
        g: usize,
        k: &mut [f64],
        w: &mut [f64]
    ) -> ()
}

#[inline(always)]
fn block_terms_portable(
    blocks: &[Block],
    entries: &[Vec<(usize, usize, f64)>],
    l: usize,
    g: usize,
    k: &mut [f64],
    w: &mut [f64],
) {
    let (mut u, mut z) = (Vec::new(), Vec::new());
    for (blk, entries) in blocks.iter().zip(entries) {
        if entries.is_empty() {
            continue;
        }
        let len = blk.len;
        // The linking rows touching this block, each as a dense row `u_t`
        // over the block's columns, and `z_t = B⁻¹ u_t` (B⁻¹ is symmetric:
        // its row i is its column i).
        let mut touched: Vec<usize> = Vec::new();
        u.clear();
        z.clear();
        for &(li, i, a) in entries {
            if touched.last() != Some(&li) {
                touched.push(li);
                u.resize(touched.len() * len, 0.0);
                z.resize(touched.len() * len, 0.0);
            }
            let t = touched.len() - 1;
            u[t * len + i] += a;
            axpy(
                &mut z[t * len..(t + 1) * len],
                a,
                &blk.inv[i * len..(i + 1) * len],
            );
        }
        lower_products(&u, &z, len, 0..touched.len(), |t1, t2, v| {
            k[touched[t1] * l + touched[t2]] += v;
        });
        for (t, &li) in touched.iter().enumerate() {
            let zt = &z[t * len..(t + 1) * len];
            let wl = &mut w[li * g..(li + 1) * g];
            for &(j, i, c) in &blk.coupling {
                wl[j] += c * zt[i];
            }
        }
    }
}

with_avx2! {
    /// Replaces every row `y` of `rows` (each `n` long) by `L⁻¹ y`, for the
    /// lower factor `L` (`n × n`, row-major), sixteen rows per pass over `L`.
    fn forward_solve_rows = forward_solve_rows_portable(
        chol: &[f64],
        n: usize,
        rows: &mut [f64]
    ) -> ()
}

#[inline(always)]
fn forward_solve_rows_portable(chol: &[f64], n: usize, rows: &mut [f64]) {
    for batch in rows.chunks_mut(16 * n) {
        let count = batch.len() / n;
        for i in 0..n {
            let li = &chol[i * n..i * n + i];
            let pivot = chol[i * n + i];
            let mut r = 0;
            while r < count {
                let take = if r + 4 <= count { 4 } else { 1 };
                let mut sums = [0.0; 4];
                {
                    let y = |q: usize| &batch[(r + q) * n..(r + q) * n + i];
                    if take == 4 {
                        sums = dot_tile::<1, 4>([li], [y(0), y(1), y(2), y(3)])[0];
                    } else {
                        sums[0] = dot_tile::<1, 1>([li], [y(0)])[0][0];
                    }
                }
                for (q, s) in sums[..take].iter().enumerate() {
                    let yi = &mut batch[(r + q) * n + i];
                    *yi = (*yi - s) / pivot;
                }
                r += take;
            }
        }
    }
}

with_avx2! {
    /// Adds `y_i · y_j` to `out[(i − rows.start) · stride + j]` for every
    /// `j ≤ i` with `i` in `rows`, the `y`s being the rows of `y` (each `n`
    /// long).
    fn add_gram_rows = add_gram_rows_portable(
        y: &[f64],
        n: usize,
        rows: Range<usize>,
        out: &mut [f64],
        stride: usize
    ) -> ()
}

#[inline(always)]
fn add_gram_rows_portable(y: &[f64], n: usize, rows: Range<usize>, out: &mut [f64], stride: usize) {
    let first = rows.start;
    lower_products(y, y, n, rows, |i, j, v| {
        out[(i - first) * stride + j] += v;
    });
}

/// Calls `emit(i, j, a_i · b_j)` for every `j ≤ i` with `i` in `rows`,
/// where `a_i` and `b_j` are rows of `a` and `b` (each `len` long), in tiles
/// of two rows of `a` by four of `b`, over panels of `b` of 256 KiB: the
/// panel stays in the second-level cache while every row of `a` passes
/// (5 % faster than whole rows of `b` at the 279-VM size: the tiles'
/// arithmetic, not memory, is what these products wait on).
#[inline(always)]
fn lower_products(
    a: &[f64],
    b: &[f64],
    len: usize,
    rows: Range<usize>,
    mut emit: impl FnMut(usize, usize, f64),
) {
    let ra = |i: usize| &a[i * len..(i + 1) * len];
    let rb = |j: usize| &b[j * len..(j + 1) * len];
    let panel = ((1 << 15) / len.max(1)).max(4);
    for jb in (0..rows.end).step_by(panel) {
        let je = (jb + panel).min(rows.end);
        let mut i = rows.start.max(jb);
        while i < rows.end {
            let pair = i + 2 <= rows.end;
            let stop = je.min(if pair { i + 2 } else { i + 1 });
            let mut j = jb;
            if pair {
                while j + 4 <= stop {
                    let t = dot_tile::<2, 4>(
                        [ra(i), ra(i + 1)],
                        [rb(j), rb(j + 1), rb(j + 2), rb(j + 3)],
                    );
                    for (di, tr) in t.iter().enumerate() {
                        for (dj, &v) in tr.iter().enumerate() {
                            if j + dj <= i + di {
                                emit(i + di, j + dj, v);
                            }
                        }
                    }
                    j += 4;
                }
                while j < stop {
                    let t = dot_tile::<2, 1>([ra(i), ra(i + 1)], [rb(j)]);
                    for (di, tr) in t.iter().enumerate() {
                        if j <= i + di {
                            emit(i + di, j, tr[0]);
                        }
                    }
                    j += 1;
                }
                i += 2;
            } else {
                while j < stop {
                    emit(i, j, dot_tile::<1, 1>([ra(i)], [rb(j)])[0][0]);
                    j += 1;
                }
                i += 1;
            }
        }
    }
}

/// The dot products of every slice of `a` with every slice of `b`
/// (over the shortest's length): four sums per product, lane `k` over the
/// entries `k mod 4`, added as `(s₀ + s₁) + (s₂ + s₃)` and then the last
/// entries in turn, whatever the tile shape or instruction set, so a
/// product does not depend on how it was computed.
#[inline(always)]
fn dot_tile<const R: usize, const C: usize>(a: [&[f64]; R], b: [&[f64]; C]) -> [[f64; C]; R] {
    let len = a.iter().chain(&b).map(|s| s.len()).min().unwrap_or(0);
    let quads = len / 4;
    let mut acc = [[[0.0f64; 4]; C]; R];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has just been found to support AVX2, and
        // every slice holds at least `4 · quads` entries.
        unsafe { lane_sums_avx2(&a, &b, quads, &mut acc) };
    } else {
        lane_sums(&a, &b, quads, &mut acc);
    }
    #[cfg(not(target_arch = "x86_64"))]
    lane_sums(&a, &b, quads, &mut acc);
    let mut out = [[0.0; C]; R];
    for r in 0..R {
        for c in 0..C {
            let s = acc[r][c];
            let mut sum = (s[0] + s[1]) + (s[2] + s[3]);
            for x in 4 * quads..len {
                sum += a[r][x] * b[c][x];
            }
            out[r][c] = sum;
        }
    }
    out
}

/// The four lane sums of [`dot_tile`] over the first `4 · quads` entries.
#[inline(always)]
fn lane_sums<const R: usize, const C: usize>(
    a: &[&[f64]; R],
    b: &[&[f64]; C],
    quads: usize,
    acc: &mut [[[f64; 4]; C]; R],
) {
    for q in 0..quads {
        let o = 4 * q;
        for r in 0..R {
            for c in 0..C {
                for lane in 0..4 {
                    acc[r][c][lane] += a[r][o + lane] * b[c][o + lane];
                }
            }
        }
    }
}

/// [`lane_sums`] in 256-bit registers: the same products and additions,
/// lane by lane (a multiply, then an add; no fused multiply-add). The
/// compiler's own vectorisation of the tile shuffled lanes across
/// registers and took 2.5 times as long.
///
/// # Safety
///
/// The processor must support AVX2, and every slice of `a` and `b` hold at
/// least `4 · quads` entries.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lane_sums_avx2<const R: usize, const C: usize>(
    a: &[&[f64]; R],
    b: &[&[f64]; C],
    quads: usize,
    acc: &mut [[[f64; 4]; C]; R],
) {
    use std::arch::x86_64::{__m256d, _mm256_setzero_pd};
    use std::arch::x86_64::{_mm256_add_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_storeu_pd};
    let mut sums: [[__m256d; C]; R] = [[_mm256_setzero_pd(); C]; R];
    for q in 0..quads {
        let o = 4 * q;
        // SAFETY: o + 4 ≤ 4 · quads, within every slice (the caller's
        // contract).
        let x: [__m256d; R] =
            std::array::from_fn(|r| unsafe { _mm256_loadu_pd(a[r].as_ptr().add(o)) });
        for c in 0..C {
            // SAFETY: as above.
            let y = unsafe { _mm256_loadu_pd(b[c].as_ptr().add(o)) };
            for r in 0..R {
                sums[r][c] = _mm256_add_pd(sums[r][c], _mm256_mul_pd(x[r], y));
            }
        }
    }
    for r in 0..R {
        for c in 0..C {
            // SAFETY: `acc[r][c]` holds four f64s.
            unsafe { _mm256_storeu_pd(acc[r][c].as_mut_ptr(), sums[r][c]) };
        }
    }
}

/// Start of each run of equal global column in the sorted coupling list,
/// and its end.
fn column_starts(coupling: &[(usize, usize, f64)]) -> Vec<usize> {
    let mut starts = Vec::new();
    for (k, e) in coupling.iter().enumerate() {
        if k == 0 || coupling[k - 1].0 != e.0 {
            starts.push(k);
        }
    }
    starts.push(coupling.len());
    starts
}

with_avx2! {
    /// [`cholesky`], in AVX2 where the processor has it.
    fn dense_cholesky = cholesky(a: &mut [f64], n: usize, reg: f64, scale: f64) -> Option<()>
}

/// Panel width of the blocked Cholesky: a 64 × 64 tile of panel rows
/// (32 KiB) stays in the first-level cache while it updates another.
const PANEL: usize = 64;

/// In-place Cholesky of the lower triangle of `a` (`n × n`, row-major),
/// with `reg` added to the diagonal. `None` on NaN. Right-looking by
/// panels of [`PANEL`] columns, the trailing update tile by tile: the
/// row-by-row form re-read the whole factor for every row, and on the
/// 2267 lengths of the 279-VM cluster spent most of its time waiting on
/// memory.
#[inline(always)]
fn cholesky(a: &mut [f64], n: usize, reg: f64, scale: f64) -> Option<()> {
    let tiny = 1e-30 * scale.max(f64::MIN_POSITIVE);
    let mut panel = Vec::new();
    for k0 in (0..n).step_by(PANEL) {
        let k1 = (k0 + PANEL).min(n);
        // The panel's rows, diagonal block first, against the panel alone:
        // earlier panels were already subtracted by their trailing updates.
        for i in k0..n {
            let (head, tail) = a.split_at_mut(i * n);
            let row_i = &mut tail[..n];
            for j in k0..k1.min(i) {
                let row_j = &head[j * n..j * n + j + 1];
                let s = row_i[j] - dot(&row_i[k0..j], &row_j[k0..j]);
                row_i[j] = s / row_j[j];
            }
            if i < k1 {
                let s = row_i[i] + reg - dot(&row_i[k0..i], &row_i[k0..i]);
                row_i[i] = if s > tiny && s.is_finite() {
                    s.sqrt()
                } else if s.is_nan() {
                    return None;
                } else {
                    HUGE_PIVOT
                };
            }
        }
        // Trailing update: a[i][j] −= L[i][k0..k1]·L[j][k0..k1], j ≤ i,
        // from a copy of the panel (contiguous, and shared by the threads).
        let below = n - k1;
        if below == 0 {
            continue;
        }
        panel.clear();
        for i in k1..n {
            panel.extend_from_slice(&a[i * n + k0..i * n + k1]);
        }
        let rows = &mut a[k1 * n..];
        if below >= PARALLEL_ROWS {
            // Row i costs i − k1 + 1 dot products: the first 1/√2 of the
            // rows cost as much as the rest.
            let split = (below as f64 / std::f64::consts::SQRT_2) as usize;
            let (mine, theirs) = rows.split_at_mut(split * n);
            let panel = &panel;
            std::thread::scope(|scope| {
                scope.spawn(move || trailing_update(theirs, k1 + split, n, k1, panel));
                trailing_rows(mine, k1, n, k1, panel);
            });
        } else {
            trailing_rows(rows, k1, n, k1, &panel);
        }
    }
    Some(())
}

/// Rows below which the trailing update stays on one thread (a block of
/// the potential form has fewer; the lengths' Schur complement more).
const PARALLEL_ROWS: usize = 512;

with_avx2! {
    /// [`trailing_rows`], in AVX2 where the processor has it (for the
    /// second thread, which does not inherit the caller's build).
    fn trailing_update = trailing_rows(
        rows: &mut [f64],
        first: usize,
        n: usize,
        k1: usize,
        panel: &[f64]
    ) -> ()
}

/// The trailing update of a panel on `rows` (matrix rows `first..`, each
/// `n` long): `a[i][j] −= P[i]·P[j]` for `k1 ≤ j ≤ i`, where `P[i]` is
/// row `i`'s panel segment (`panel`, from row `k1` on), tile by tile.
#[inline(always)]
fn trailing_rows(rows: &mut [f64], first: usize, n: usize, k1: usize, panel: &[f64]) {
    let count = rows.len() / n;
    let width = panel.len() / (n - k1);
    let segment = |i: usize| &panel[(i - k1) * width..(i - k1 + 1) * width];
    for ib in (first..first + count).step_by(PANEL) {
        let ie = (ib + PANEL).min(first + count);
        for jb in (k1..ie).step_by(PANEL) {
            for i in ib..ie {
                let pi = segment(i);
                let row = &mut rows[(i - first) * n..(i - first + 1) * n];
                for j in jb..(jb + PANEL).min(i + 1) {
                    row[j] -= dot(pi, segment(j));
                }
            }
        }
    }
}

/// The full inverse of `L Lᵀ` from the factor `L` (lower, `n × n`), as
/// `L⁻ᵀ L⁻¹`: `n³/3` multiply-adds, all in contiguous dot products. Row `j`
/// of `t` (resized to `n × n`) holds column `j` of `L⁻¹` (zero above `j`).
#[inline(always)]
fn invert(chol: &[f64], n: usize, inv: &mut [f64], t: &mut Vec<f64>) {
    t.clear();
    t.resize(n * n, 0.0);
    for j in 0..n {
        let x = &mut t[j * n..j * n + n];
        x[j] = 1.0 / chol[j * n + j];
        for k in j + 1..n {
            let row = &chol[k * n..k * n + k];
            x[k] = -dot(&row[j..k], &x[j..k]) / chol[k * n + k];
        }
    }
    for i in 0..n {
        let ti = &t[i * n + i..i * n + n];
        for j in 0..=i {
            let v = dot(ti, &t[j * n + i..j * n + n]);
            inv[i * n + j] = v;
            inv[j * n + i] = v;
        }
    }
}

/// Blocks whose Schur updates are applied together, row by row: each row
/// of `S` is then read and written once per batch instead of once per
/// block (`S` of the 279-VM cluster is 41 MB, the batch's products 20 MB).
const BATCH: usize = 4;

/// Bytes of scratch beyond the blocks and `S` for blocks of up to
/// `largest` columns and `globals` global columns: the second half's share
/// of `S`, and per half a factor, a transposed product and a batch of
/// products.
pub(super) fn scratch_bytes(largest: usize, globals: usize) -> u64 {
    let (b, g) = (largest as u64, globals as u64);
    8 * (g * g + 2 * (b * b + (BATCH as u64 + 1) * b * g))
}

/// Scratch for eliminating blocks.
struct Workspace {
    /// Cholesky factor of one block.
    factor: Vec<f64>,
    /// The transposed inverse factor of one block.
    transposed: Vec<f64>,
    /// `H = B⁻¹ C` of every block of a batch (`len × k`, row-major).
    products: Vec<Vec<f64>>,
}

impl Workspace {
    fn new(largest: usize) -> Self {
        Workspace {
            factor: vec![0.0; largest * largest],
            transposed: Vec::new(),
            products: vec![Vec::new(); BATCH],
        }
    }
}

with_avx2! {
    /// Inverts `blocks` (formed in `inv`) and subtracts their `Cᵀ B⁻¹ C`
    /// from `s` (lower triangle, `g × g`).
    fn eliminate = eliminate_portable(
        blocks: &mut [Block],
        s: &mut [f64],
        g: usize,
        reg: f64,
        scale: f64,
        ws: &mut Workspace
    ) -> Option<()>
}

#[inline(always)]
fn eliminate_portable(
    blocks: &mut [Block],
    s: &mut [f64],
    g: usize,
    reg: f64,
    scale: f64,
    ws: &mut Workspace,
) -> Option<()> {
    for batch in blocks.chunks_mut(BATCH) {
        let mut layouts = Vec::with_capacity(batch.len());
        for (b, h) in batch.iter_mut().zip(&mut ws.products) {
            let chol = &mut ws.factor[..b.len * b.len];
            chol.copy_from_slice(&b.inv);
            cholesky(chol, b.len, reg, scale)?;
            invert(chol, b.len, &mut b.inv, &mut ws.transposed);
            // Merge the coupling entries of equal position.
            b.coupling.sort_unstable_by_key(|e| (e.0, e.1));
            let mut merged: Vec<(usize, usize, f64)> = Vec::with_capacity(b.coupling.len());
            for &e in &b.coupling {
                match merged.last_mut() {
                    Some(last) if last.0 == e.0 && last.1 == e.1 => last.2 += e.2,
                    _ => merged.push(e),
                }
            }
            b.coupling = merged;
            layouts.push(coupling_product(b, h));
        }
        let shared = layouts.windows(2).all(|w| w[0].1 == w[1].1);
        if shared {
            let cols = &layouts[0].1;
            for x1 in 0..cols.len() {
                for ((b, (starts, _)), h) in batch.iter().zip(&layouts).zip(&ws.products) {
                    let entries = &b.coupling[starts[x1]..starts[x1 + 1]];
                    update_row(s, g, cols, x1, entries, h);
                }
            }
        } else {
            for ((b, (starts, cols)), h) in batch.iter().zip(&layouts).zip(&ws.products) {
                for x1 in 0..cols.len() {
                    let entries = &b.coupling[starts[x1]..starts[x1 + 1]];
                    update_row(s, g, cols, x1, entries, h);
                }
            }
        }
    }
    Some(())
}

/// `H = B⁻¹ C` of one block into `h` (`len × k` over the `k` global
/// columns the block touches, row-major). Returns where each global
/// column's entries start in `b.coupling` (and their end), and the
/// columns.
#[inline(always)]
fn coupling_product(b: &Block, h: &mut Vec<f64>) -> (Vec<usize>, Vec<usize>) {
    let starts = column_starts(&b.coupling);
    let k = starts.len() - 1;
    let len = b.len;
    let cols: Vec<usize> = starts[..k].iter().map(|&x| b.coupling[x].0).collect();
    // Row i of H gathers from row i of B⁻¹ (in the first-level cache):
    // cheaper than forming Hᵀ by rows and transposing it.
    h.clear();
    h.resize(len * k, 0.0);
    for i in 0..len {
        let inv_row = &b.inv[i * len..i * len + len];
        let h_row = &mut h[i * k..i * k + k];
        for (x, hx) in h_row.iter_mut().enumerate() {
            *hx = b.coupling[starts[x]..starts[x + 1]]
                .iter()
                .map(|&(_, i2, c)| c * inv_row[i2])
                .sum();
        }
    }
    (starts, cols)
}

/// Subtracts one block's share of row `cols[x1]` of `Cᵀ B⁻¹ C` from `s`
/// (lower triangle): `Σ_{(·, i, c) ∈ entries} c·H[i, ..=x1]`, contiguous
/// multiply-adds when the block's global columns are contiguous.
#[inline(always)]
fn update_row(
    s: &mut [f64],
    g: usize,
    cols: &[usize],
    x1: usize,
    entries: &[(usize, usize, f64)],
    h: &[f64],
) {
    let k = cols.len();
    let j1 = cols[x1];
    if cols[k - 1] - cols[0] == k - 1 {
        let dest = &mut s[j1 * g + cols[0]..j1 * g + j1 + 1];
        let mut pairs = entries.chunks_exact(2);
        for p in &mut pairs {
            let (i1, c1) = (p[0].1, p[0].2);
            let (i2, c2) = (p[1].1, p[1].2);
            axpy2(
                dest,
                -c1,
                &h[i1 * k..i1 * k + x1 + 1],
                -c2,
                &h[i2 * k..i2 * k + x1 + 1],
            );
        }
        for &(_, i, c) in pairs.remainder() {
            axpy(dest, -c, &h[i * k..i * k + x1 + 1]);
        }
    } else {
        for &(_, i, c) in entries {
            for (x2, &v) in h[i * k..i * k + x1 + 1].iter().enumerate() {
                s[j1 * g + cols[x2]] -= c * v;
            }
        }
    }
}

/// `y += a·x`.
#[inline(always)]
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y += a·x + b·z` (one pass over `y`).
#[inline(always)]
fn axpy2(y: &mut [f64], a: f64, x: &[f64], b: f64, z: &[f64]) {
    for ((yi, &xi), &zi) in y.iter_mut().zip(x).zip(z) {
        *yi += a * xi + b * zi;
    }
}

/// Solves `L Lᵀ x = b` in place.
fn chol_solve(chol: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &chol[i * n..i * n + i + 1];
        b[i] = (b[i] - dot(&row[..i], &b[..i])) / row[i];
    }
    for i in (0..n).rev() {
        let bi = b[i] / chol[i * n + i];
        b[i] = bi;
        let row = &chol[i * n..i * n + i];
        for (bk, &l) in b[..i].iter_mut().zip(row) {
            *bk -= l * bi;
        }
    }
}

/// `out = M x` for a full symmetric `n × n` matrix.
fn sym_mul(m: &[f64], n: usize, x: &[f64], out: &mut [f64]) {
    for i in 0..n {
        out[i] = dot(&m[i * n..i * n + n], x);
    }
}

/// Dot product. Sixteen independent sums (four 256-bit registers when
/// [`NormalEquations::factor`] runs with AVX) hide the latency of the
/// additions; the same sums in the same order on every machine, so the
/// result does not depend on the instruction set.
#[inline(always)]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0; 16];
    let mut chunks_a = a.chunks_exact(16);
    let mut chunks_b = b.chunks_exact(16);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for l in 0..16 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let (ra, rb) = (chunks_a.remainder(), chunks_b.remainder());
    let mut quads_a = ra.chunks_exact(4);
    let mut quads_b = rb.chunks_exact(4);
    for (ca, cb) in (&mut quads_a).zip(&mut quads_b) {
        for l in 0..4 {
            acc[l] += ca[l] * cb[l];
        }
    }
    for l in 0..8 {
        acc[l] += acc[l + 8];
    }
    for l in 0..4 {
        acc[l] += acc[l + 4];
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (&x, &y) in quads_a.remainder().iter().zip(quads_b.remainder()) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows as sorted `(columns, coefficients)` pairs.
    struct RowList(Vec<(Vec<usize>, Vec<f64>)>);

    impl RowAccess for RowList {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn row(&self, r: usize) -> (&[usize], &[f64]) {
            (&self.0[r].0, &self.0[r].1)
        }
    }

    /// The normal equations of a spreading LP in potential form on a random
    /// graph: one group of `vertices − 1` potentials per source, one global
    /// length per edge, two rows per edge and source and a few spreading
    /// rows per source; random row weights and diagonal.
    fn spreading_system(vertices: usize, edges: usize, seed: u64) -> (NormalEquations, RowList) {
        spreading_system_linked(vertices, edges, 0, seed)
    }

    /// [`spreading_system`] with `linked` set constraints on the
    /// potentials, rows across the groups.
    fn spreading_system_linked(
        vertices: usize,
        edges: usize,
        linked: usize,
        seed: u64,
    ) -> (NormalEquations, RowList) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut ends = Vec::new();
        while ends.len() < edges {
            let (a, b) = (rng.gen_range(0..vertices), rng.gen_range(0..vertices));
            if a < b && !ends.contains(&(a, b)) {
                ends.push((a, b));
            }
        }
        let block = vertices - 1;
        let global = vertices * block;
        let groups: Vec<Range<usize>> = (0..vertices).map(|s| s * block..(s + 1) * block).collect();
        // Potential of `u` seen from `s` (none for `s` itself, fixed at 0).
        let column =
            |s: usize, u: usize| (u != s).then(|| s * block + if u < s { u } else { u - 1 });
        let mut rows = Vec::new();
        for s in 0..vertices {
            for (e, &(a, b)) in ends.iter().enumerate() {
                for (from, to) in [(a, b), (b, a)] {
                    // p(from) + l − p(to) ≥ 0.
                    let mut row: Vec<(usize, f64)> = vec![(global + e, 1.0)];
                    row.extend(column(s, from).map(|c| (c, 1.0)));
                    row.extend(column(s, to).map(|c| (c, -1.0)));
                    row.sort_by_key(|p| p.0);
                    rows.push(row.into_iter().unzip());
                }
            }
            for _ in 0..3 {
                let mut members: Vec<usize> = (0..block)
                    .filter(|_| rng.gen_bool(0.3))
                    .map(|u| s * block + u)
                    .collect();
                members.dedup();
                if !members.is_empty() {
                    let ones = vec![1.0; members.len()];
                    rows.push((members, ones));
                }
            }
        }
        for _ in 0..linked {
            // Σ_{a<b in S} p_a(b): the potential of the later member seen
            // from the earlier.
            let set: Vec<usize> = (0..vertices).filter(|_| rng.gen_bool(0.6)).collect();
            let mut cols: Vec<usize> = Vec::new();
            for (i, &a) in set.iter().enumerate() {
                cols.extend(set[i + 1..].iter().filter_map(|&b| column(a, b)));
            }
            cols.sort_unstable();
            if cols.len() > 1 {
                let ones = vec![1.0; cols.len()];
                rows.push((cols, ones));
            }
        }
        let rows = RowList(rows);
        let n = global + edges;
        let mut normal = NormalEquations::new(n, rows.len(), &groups).expect("valid layout");
        assert!(normal.fits(&rows));
        normal.d = (0..rows.len())
            .map(|_| 10f64.powf(rng.gen_range(-3.0..3.0)))
            .collect();
        normal.diag = (0..n)
            .map(|_| 10f64.powf(rng.gen_range(-4.0..0.0)))
            .collect();
        (normal, rows)
    }

    #[test]
    fn blocked_solve_inverts_spreading_systems() {
        // The last has enough lengths for the two-thread trailing update.
        for seed in 0..7 {
            let (vertices, edges) = if seed < 6 {
                (12 + seed as usize, 30)
            } else {
                (40, 700)
            };
            let (mut normal, rows) = spreading_system(vertices, edges, seed);
            normal.factor(&rows).expect("finite");
            let error = round_trip_error(&normal, &rows, 100 + seed);
            assert!(error < 1e-6, "seed {seed}: solve is off by {error}");
        }
    }

    /// Largest error of `solve(M x)` against a seeded random `x`.
    fn round_trip_error(normal: &NormalEquations, rows: &RowList, seed: u64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x: Vec<f64> = (0..normal.n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut b = vec![0.0; normal.n];
        normal.mul(rows, &x, &mut b);
        normal.solve(&mut b);
        x.iter()
            .zip(&b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// Rows of `len` seeded random numbers.
    fn random_rows(count: usize, len: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..count * len).map(|_| rng.gen_range(-1.0..1.0)).collect()
    }

    #[test]
    fn tiled_products_cover_the_lower_triangle_once_and_match_plain_dots() {
        // Lengths that leave remainders after the lanes, and one long
        // enough for panels of four rows.
        for (count, len, start) in [(1, 1, 0), (7, 5, 0), (11, 13, 3), (13, 9000, 2), (9, 4, 8)] {
            let a = random_rows(count, len, 1);
            let b = random_rows(count, len, 2);
            let mut seen = vec![0u32; count * count];
            lower_products(&a, &b, len, start..count, |i, j, v| {
                seen[i * count + j] += 1;
                let plain: f64 = (0..len).map(|x| a[i * len + x] * b[j * len + x]).sum();
                assert!(
                    (v - plain).abs() <= 1e-12 * len as f64,
                    "{count}×{len}: ({i}, {j}) is {v}, not {plain}"
                );
                // The same sum whatever the tile it came from.
                let single =
                    dot_tile::<1, 1>([&a[i * len..(i + 1) * len]], [&b[j * len..(j + 1) * len]]);
                assert_eq!(v.to_bits(), single[0][0].to_bits(), "({i}, {j})");
            });
            for i in 0..count {
                for j in 0..count {
                    let expected = u32::from(i >= start && j <= i);
                    assert_eq!(seen[i * count + j], expected, "{count}×{len}: ({i}, {j})");
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn lane_sums_agree_bit_for_bit_with_and_without_avx2() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let rows = random_rows(6, 103, 3);
        let row = |i: usize| &rows[i * 103..(i + 1) * 103];
        let (a, b) = ([row(0), row(1)], [row(2), row(3), row(4), row(5)]);
        let mut portable = [[[0.0; 4]; 4]; 2];
        let mut avx2 = [[[0.0; 4]; 4]; 2];
        lane_sums(&a, &b, 25, &mut portable);
        // SAFETY: AVX2 was just detected; every row holds 103 ≥ 100 entries.
        unsafe { lane_sums_avx2(&a, &b, 25, &mut avx2) };
        assert_eq!(
            portable.map(|r| r.map(|c| c.map(f64::to_bits))),
            avx2.map(|r| r.map(|c| c.map(f64::to_bits)))
        );
    }

    #[test]
    fn forward_solves_in_batches_match_one_at_a_time() {
        // 21 rows: a batch of sixteen, then four and one.
        let n = 37;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut chol = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..i {
                chol[i * n + j] = rng.gen_range(-0.3..0.3);
            }
            chol[i * n + i] = rng.gen_range(1.0..2.0);
        }
        let mut rows = random_rows(21, n, 5);
        let original = rows.clone();
        forward_solve_rows(&chol, n, &mut rows);
        for (y, b) in rows.chunks(n).zip(original.chunks(n)) {
            // L y = b.
            for i in 0..n {
                let ly: f64 = (0..=i).map(|j| chol[i * n + j] * y[j]).sum();
                assert!((ly - b[i]).abs() < 1e-12, "row {i}: {ly} against {}", b[i]);
            }
        }
    }

    #[test]
    fn rows_across_groups_are_solved_through_the_capacitance() {
        for seed in 0..6 {
            let (vertices, edges, linked) = (10 + seed as usize, 30, 1 + 7 * seed as usize);
            let (mut normal, rows) = spreading_system_linked(vertices, edges, linked, seed);
            normal.factor(&rows).expect("finite");
            assert!(!normal.linking.is_empty(), "seed {seed}: no linking row");
            let error = round_trip_error(&normal, &rows, 200 + seed);
            assert!(error < 1e-6, "seed {seed}: solve is off by {error}");
        }
    }

    /// Time of one factorisation at the 279-VM cluster's size (run with
    /// `cargo test --release -p convoy-schedule factor_speed -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore]
    fn factor_speed() {
        let (mut normal, rows) = spreading_system(279, 2267, 1);
        let median = median_factor_seconds(&mut normal, &rows);
        println!("one factorisation (279 sources, 2267 lengths): median {median:.2} s");
    }

    /// Median wall-clock seconds of three factorisations.
    fn median_factor_seconds(normal: &mut NormalEquations, rows: &RowList) -> f64 {
        let mut times = Vec::new();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            normal.factor(rows).expect("finite");
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        times[1]
    }

    /// Time of one factorisation at the 279-VM cluster's size with 1363
    /// set constraints across the sources, as in its second set round (run
    /// with `cargo test --release -p convoy-schedule capacitance_speed --
    /// --ignored --nocapture`).
    #[test]
    #[ignore]
    fn capacitance_speed() {
        let (mut normal, rows) = spreading_system_linked(279, 2267, 1363, 1);
        let median = median_factor_seconds(&mut normal, &rows);
        println!(
            "one factorisation (279 sources, 2267 lengths, {} linking rows): median {median:.2} s",
            normal.linking.len()
        );
    }
}
