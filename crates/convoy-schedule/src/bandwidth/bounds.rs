//! Lower bounds on the bandwidth.

use convoy_model::Graph;

/// The degree bound ⌈Δ/2⌉: a vertex's neighbours need Δ distinct positions around it.
pub fn degree_bound(graph: &Graph) -> usize {
    graph.max_degree().div_ceil(2)
}

/// The best lower bound this module knows for `graph`.
pub fn lower_bound(graph: &Graph) -> usize {
    degree_bound(graph)
}
