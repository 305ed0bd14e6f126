//! Brute force over all orders: the reference the exact solvers are tested against.

use convoy_model::Graph;

/// The minimum bandwidth of `graph` and an order achieving it, by trying every
/// permutation (Heap's algorithm). Only for tiny graphs (n ≤ 10).
pub fn brute_force(graph: &Graph) -> (usize, Vec<usize>) {
    let n = graph.n();
    assert!(n <= 10, "brute force is for tiny graphs, got n = {n}");
    let mut order: Vec<usize> = (0..n).collect();
    let mut best = (super::bandwidth_of(graph, &order), order.clone());
    let mut c = vec![0usize; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                order.swap(0, i);
            } else {
                order.swap(c[i], i);
            }
            let w = super::bandwidth_of(graph, &order);
            if w < best.0 {
                best = (w, order.clone());
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best
}
