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
    /// Cholesky factor of one block at a time (the largest block's size).
    scratch: Vec<f64>,
    /// `S` (or the whole matrix when dense), then its Cholesky factor
    /// (lower triangle, row-major, `g × g` with `g = n − global`).
    chol: Vec<f64>,
    /// Row weights `D`.
    pub(super) d: Vec<f64>,
    /// The diagonal term.
    pub(super) diag: Vec<f64>,
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
            scratch: vec![0.0; largest * largest],
            n,
            global: next,
            group_of,
            blocks,
            chol: vec![0.0; g * g],
            d: vec![0.0; m],
            diag: vec![0.0; n],
        })
    }

    /// Whether every row touches at most one group.
    pub(super) fn fits(&self, rows: &impl RowAccess) -> bool {
        (0..rows.len()).all(|r| {
            let (cols, _) = rows.row(r);
            let mut group = None;
            cols.iter().filter(|&&c| c < self.global).all(|&c| {
                let g = self.group_of[c];
                *group.get_or_insert(g) == g
            })
        })
    }

    /// Forms and factors the matrix for the current `d` and `diag`. `None`
    /// if a non-finite number appears.
    pub(super) fn factor(&mut self, rows: &impl RowAccess) -> Option<()> {
        let (n, gs) = (self.n, self.global);
        let g = n - gs;
        self.chol.iter_mut().for_each(|e| *e = 0.0);
        for b in &mut self.blocks {
            b.inv.iter_mut().for_each(|e| *e = 0.0);
            b.coupling.clear();
        }
        for r in 0..rows.len() {
            let dr = self.d[r];
            if dr == 0.0 {
                continue;
            }
            let (cols, vals) = rows.row(r);
            // Group entries come first (columns ascend, groups precede).
            let split = cols.partition_point(|&c| c < gs);
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
        for b in &mut self.blocks {
            let chol = &mut self.scratch[..b.len * b.len];
            chol.copy_from_slice(&b.inv);
            cholesky(chol, b.len, reg, max_diag)?;
            invert(chol, b.len, &mut b.inv);
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
            // S −= Cᵀ B⁻¹ C, over the global columns this group touches.
            let cols = column_starts(&b.coupling);
            for (x, w1) in cols.windows(2).enumerate() {
                let j1 = b.coupling[w1[0]].0;
                for w2 in cols.windows(2).take(x + 1) {
                    let j2 = b.coupling[w2[0]].0;
                    let mut s = 0.0;
                    for &(_, i1, c1) in &b.coupling[w1[0]..w1[1]] {
                        let row = &b.inv[i1 * b.len..i1 * b.len + b.len];
                        for &(_, i2, c2) in &b.coupling[w2[0]..w2[1]] {
                            s += c1 * row[i2] * c2;
                        }
                    }
                    self.chol[j1 * g + j2] -= s;
                }
            }
        }
        cholesky(&mut self.chol, g, reg, max_diag)
    }

    /// Solves the factored system in place (`b` becomes `x`).
    pub(super) fn solve(&self, b: &mut [f64]) {
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

/// In-place Cholesky of the lower triangle of `a` (`n × n`, row-major),
/// with `reg` added to the diagonal. `None` on NaN.
fn cholesky(a: &mut [f64], n: usize, reg: f64, scale: f64) -> Option<()> {
    let tiny = 1e-30 * scale.max(f64::MIN_POSITIVE);
    for i in 0..n {
        let (head, tail) = a.split_at_mut(i * n);
        let row_i = &mut tail[..n];
        for j in 0..i {
            let row_j = &head[j * n..j * n + j + 1];
            let s = row_i[j] - dot(&row_i[..j], &row_j[..j]);
            row_i[j] = s / row_j[j];
        }
        let s = row_i[i] + reg - dot(&row_i[..i], &row_i[..i]);
        row_i[i] = if s > tiny && s.is_finite() {
            s.sqrt()
        } else if s.is_nan() {
            return None;
        } else {
            HUGE_PIVOT
        };
    }
    Some(())
}

/// The full inverse of `L Lᵀ` from the factor `L` (lower, `n × n`).
fn invert(chol: &[f64], n: usize, inv: &mut [f64]) {
    let mut col = vec![0.0; n];
    for j in 0..n {
        col.iter_mut().for_each(|e| *e = 0.0);
        col[j] = 1.0;
        chol_solve(chol, n, &mut col);
        for i in 0..n {
            inv[i * n + j] = col[i];
        }
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

/// Dot product with four accumulators (lets the compiler vectorise it).
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0; 4];
    let mut chunks_a = a.chunks_exact(4);
    let mut chunks_b = b.chunks_exact(4);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        acc[0] += ca[0] * cb[0];
        acc[1] += ca[1] * cb[1];
        acc[2] += ca[2] * cb[2];
        acc[3] += ca[3] * cb[3];
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (&x, &y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        sum += x * y;
    }
    sum
}
