//! An order kept ready for vertex insertions, shared by the local searches
//! of the stretch and the cutwidth.
//!
//! Moving `v` past a vertex `x` changes only `x`'s and `v`'s weight towards
//! the vertices placed before them, by `w(v, x)`; with that weight kept for
//! every vertex (`before`) and `v`'s edge weights spread into a scratch
//! array (`mark`), a search scans every position of a window in O(1) each,
//! and a move costs O(distance moved + deg v).

use crate::arrangement::Arr;

/// An order with its inverse and every vertex's weight towards the vertices
/// placed before it.
pub(crate) struct Layout<'a> {
    pub(crate) arr: &'a Arr,
    /// The order (local indices).
    pub(crate) order: Vec<usize>,
    /// Position of every vertex in `order`.
    pub(crate) pos: Vec<usize>,
    /// Weight from every vertex to the vertices before it.
    pub(crate) before: Vec<f64>,
    /// Scratch: between [`Layout::set_mark`] and [`Layout::clear_mark`] of
    /// `v`, the weight of each vertex's edge to `v` (zero elsewhere).
    pub(crate) mark: Vec<f64>,
}

impl<'a> Layout<'a> {
    /// The layout of `order` (a permutation of `arr`'s vertices).
    pub(crate) fn new(arr: &'a Arr, order: Vec<usize>) -> Self {
        let n = arr.n();
        let mut pos = vec![0; n];
        for (i, &v) in order.iter().enumerate() {
            pos[v] = i;
        }
        let before = (0..n)
            .map(|v| {
                arr.nbrs(v)
                    .filter(|&(u, _)| pos[u] < pos[v])
                    .map(|e| e.1)
                    .sum()
            })
            .collect();
        Layout {
            arr,
            order,
            pos,
            before,
            mark: vec![0.0; n],
        }
    }

    /// Spreads `v`'s edge weights into `mark`.
    pub(crate) fn set_mark(&mut self, v: usize) {
        for (u, w) in self.arr.nbrs(v) {
            self.mark[u] = w;
        }
    }

    /// Undoes [`Layout::set_mark`].
    pub(crate) fn clear_mark(&mut self, v: usize) {
        for (u, _) in self.arr.nbrs(v) {
            self.mark[u] = 0.0;
        }
    }

    /// Moves `v` to position `j`, shifting the vertices in between by one.
    pub(crate) fn shift(&mut self, v: usize, j: usize) {
        let i = self.pos[v];
        self.set_mark(v);
        if j > i {
            for k in (i + 1)..=j {
                let x = self.order[k];
                self.before[x] -= self.mark[x];
                self.before[v] += self.mark[x];
                self.order[k - 1] = x;
                self.pos[x] = k - 1;
            }
        } else {
            for k in (j..i).rev() {
                let x = self.order[k];
                self.before[x] += self.mark[x];
                self.before[v] -= self.mark[x];
                self.order[k + 1] = x;
                self.pos[x] = k + 1;
            }
        }
        self.order[j] = v;
        self.pos[v] = j;
        self.clear_mark(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_keeps_positions_and_prefix_weights_exact() {
        let edges = vec![
            (0, 1, 2.0),
            (1, 2, 3.0),
            (0, 3, 5.0),
            (2, 4, 7.0),
            (3, 4, 1.0),
        ];
        let arr = Arr::from_edges(5, edges, vec![0.0; 5], vec![0.0; 5], vec![1.0; 5]);
        let mut lay = Layout::new(&arr, vec![4, 2, 0, 3, 1]);
        for (v, j) in [(4, 3), (1, 0), (0, 4), (2, 2), (3, 0)] {
            lay.shift(v, j);
            let fresh = Layout::new(&arr, lay.order.clone());
            assert_eq!(lay.pos, fresh.pos);
            assert_eq!(lay.before, fresh.before);
            assert_eq!(lay.order[j], v);
            assert!(lay.mark.iter().all(|&m| m == 0.0));
        }
    }
}
