//! The weighted, undirected communication graph in compressed sparse row form.
//!
//! Vertices are dense indices `0..n` with interned names; the index of a name
//! is the order in which it was first seen, so a graph read twice from the
//! same file numbers its vertices the same way (plans depend on it).

use std::collections::HashMap;

/// Why an edge could not be added to a [`GraphBuilder`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EdgeError {
    /// Both ends name the same vertex.
    #[error("self-loop on {0:?}: an edge must join two different VMs")]
    SelfLoop(String),
    /// The weight is negative, NaN or infinite.
    #[error("weight {0} is not a finite non-negative number")]
    BadWeight(f64),
}

/// Collects named vertices and weighted edges, then freezes them into a [`Graph`].
///
/// Duplicate pairs, in either direction, are summed into one undirected edge.
#[derive(Debug, Default, Clone)]
pub struct GraphBuilder {
    names: Vec<String>,
    index: HashMap<String, u32>,
    edges: HashMap<(u32, u32), f64>,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the index of `name`, adding it as an isolated vertex if it is new.
    pub fn add_vertex(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("more than 2^32 vertices");
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// Adds `weight` to the undirected edge between `a` and `b`, creating the vertices as needed.
    pub fn add_edge(&mut self, a: &str, b: &str, weight: f64) -> Result<(), EdgeError> {
        if a == b {
            return Err(EdgeError::SelfLoop(a.to_owned()));
        }
        if !weight.is_finite() || weight < 0.0 {
            return Err(EdgeError::BadWeight(weight));
        }
        let (x, y) = (self.add_vertex(a), self.add_vertex(b));
        *self.edges.entry((x.min(y), x.max(y))).or_insert(0.0) += weight;
        Ok(())
    }

    /// Number of vertices added so far.
    pub fn vertex_count(&self) -> usize {
        self.names.len()
    }

    /// Freezes the builder into a CSR graph whose adjacency lists are sorted by neighbour index.
    pub fn build(self) -> Graph {
        let n = self.names.len();
        let mut edges: Vec<(u32, u32, f64)> = self
            .edges
            .into_iter()
            .map(|((a, b), w)| (a, b, w))
            .collect();
        edges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        Graph::from_sorted_edges(self.names, self.index, &edges, n)
    }
}

/// An undirected graph with non-negative edge weights, stored as compressed sparse rows.
///
/// Every edge `{u, v}` appears in both adjacency lists; lists are sorted by neighbour.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    names: Vec<String>,
    index: HashMap<String, u32>,
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
}

/// Sorts every row of a compressed adjacency (row `v` is
/// `offsets[v]..offsets[v + 1]` of `targets` and `weights`) by neighbour,
/// keeping each weight with its neighbour, so that a vertex's neighbours are
/// visited in the same order whatever order the edges came in.
pub fn sort_neighbours(offsets: &[usize], targets: &mut [u32], weights: &mut [f64]) {
    for row in offsets.windows(2) {
        let range = row[0]..row[1];
        let mut pairs: Vec<(u32, f64)> = targets[range.clone()]
            .iter()
            .copied()
            .zip(weights[range.clone()].iter().copied())
            .collect();
        pairs.sort_unstable_by_key(|p| p.0);
        for (slot, (t, w)) in range.zip(pairs) {
            targets[slot] = t;
            weights[slot] = w;
        }
    }
}

impl Graph {
    fn from_sorted_edges(
        names: Vec<String>,
        index: HashMap<String, u32>,
        edges: &[(u32, u32, f64)],
        n: usize,
    ) -> Graph {
        let mut degree = vec![0usize; n];
        for &(a, b, _) in edges {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        for d in &degree {
            offsets.push(offsets.last().unwrap() + d);
        }
        let mut fill = offsets[..n].to_vec();
        let mut targets = vec![0u32; 2 * edges.len()];
        let mut weights = vec![0f64; 2 * edges.len()];
        for &(a, b, w) in edges {
            for (x, y) in [(a, b), (b, a)] {
                let slot = &mut fill[x as usize];
                targets[*slot] = y;
                weights[*slot] = w;
                *slot += 1;
            }
        }
        sort_neighbours(&offsets, &mut targets, &mut weights);
        Graph {
            names,
            index,
            offsets,
            targets,
            weights,
        }
    }

    /// Builds an unnamed graph on `n` vertices (named `"1"`..`"n"`) from unit-weight edges.
    ///
    /// Self-loops are ignored and duplicates merged; meant for tests and generators.
    pub fn from_edges(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut b = GraphBuilder::new();
        for v in 1..=n {
            b.add_vertex(&v.to_string());
        }
        for &(u, v) in edges {
            assert!(u < n && v < n, "edge ({u},{v}) out of range for n = {n}");
            if u != v {
                let (x, y) = ((u + 1).to_string(), (v + 1).to_string());
                b.add_edge(&x, &y, 1.0).expect("unit weight is valid");
            }
        }
        // Duplicates were summed: reset every weight to one.
        let mut g = b.build();
        g.weights.iter_mut().for_each(|w| *w = 1.0);
        g
    }

    /// Number of vertices.
    pub fn n(&self) -> usize {
        self.names.len()
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.targets.len() / 2
    }

    /// The neighbours of `v`, sorted by index.
    pub fn neighbors(&self, v: usize) -> &[u32] {
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    /// The weights of the edges to [`Graph::neighbors`]`(v)`, in the same order.
    pub fn neighbor_weights(&self, v: usize) -> &[f64] {
        &self.weights[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Degree of `v`.
    pub fn degree(&self, v: usize) -> usize {
        self.offsets[v + 1] - self.offsets[v]
    }

    /// Largest degree, 0 for an empty graph.
    pub fn max_degree(&self) -> usize {
        (0..self.n()).map(|v| self.degree(v)).max().unwrap_or(0)
    }

    /// Name of vertex `v`.
    pub fn name(&self, v: usize) -> &str {
        &self.names[v]
    }

    /// All vertex names, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Index of the vertex called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).map(|&i| i as usize)
    }

    /// Whether `u` and `v` are adjacent (binary search in the sorted list).
    pub fn has_edge(&self, u: usize, v: usize) -> bool {
        self.neighbors(u).binary_search(&(v as u32)).is_ok()
    }

    /// Weight of edge `{u, v}`, if present.
    pub fn weight(&self, u: usize, v: usize) -> Option<f64> {
        self.neighbors(u)
            .binary_search(&(v as u32))
            .ok()
            .map(|i| self.neighbor_weights(u)[i])
    }

    /// Every undirected edge once, as `(u, v, weight)` with `u < v`, in index order.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        (0..self.n()).flat_map(move |u| {
            self.neighbors(u)
                .iter()
                .zip(self.neighbor_weights(u))
                .filter(move |(&v, _)| (v as usize) > u)
                .map(move |(&v, &w)| (u, v as usize, w))
        })
    }

    /// Sum of all edge weights.
    pub fn total_weight(&self) -> f64 {
        self.edges().map(|e| e.2).sum()
    }

    /// The connected components, each sorted by vertex index, ordered by their smallest vertex.
    pub fn components(&self) -> Vec<Vec<usize>> {
        let n = self.n();
        let mut seen = vec![false; n];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for s in 0..n {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            stack.push(s);
            let mut comp = Vec::new();
            while let Some(u) = stack.pop() {
                comp.push(u);
                for &v in self.neighbors(u) {
                    if !seen[v as usize] {
                        seen[v as usize] = true;
                        stack.push(v as usize);
                    }
                }
            }
            comp.sort_unstable();
            out.push(comp);
        }
        out
    }

    /// The subgraph induced by `vertices` (which must be distinct); vertex `i` of the
    /// result is `vertices[i]` here and keeps its name and edge weights.
    pub fn induced(&self, vertices: &[usize]) -> Graph {
        let mut local = HashMap::with_capacity(vertices.len());
        for (i, &v) in vertices.iter().enumerate() {
            let prev = local.insert(v as u32, i as u32);
            assert!(prev.is_none(), "induced: vertex {v} given twice");
        }
        let names: Vec<String> = vertices.iter().map(|&v| self.names[v].clone()).collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        let mut edges = Vec::new();
        for (i, &v) in vertices.iter().enumerate() {
            for (&t, &w) in self.neighbors(v).iter().zip(self.neighbor_weights(v)) {
                if let Some(&j) = local.get(&t) {
                    if (i as u32) < j {
                        edges.push((i as u32, j, w));
                    }
                }
            }
        }
        edges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        Graph::from_sorted_edges(names, index, &edges, vertices.len())
    }

    /// Breadth-first distances from `source` (`u32::MAX` for unreachable vertices).
    pub fn bfs_distances(&self, source: usize) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.n()];
        let mut queue = std::collections::VecDeque::new();
        dist[source] = 0;
        queue.push_back(source);
        while let Some(u) = queue.pop_front() {
            for &v in self.neighbors(u) {
                if dist[v as usize] == u32::MAX {
                    dist[v as usize] = dist[u] + 1;
                    queue.push_back(v as usize);
                }
            }
        }
        dist
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_in_either_direction_are_summed() {
        let mut b = GraphBuilder::new();
        b.add_edge("a", "b", 2.0).unwrap();
        b.add_edge("b", "a", 3.0).unwrap();
        b.add_edge("b", "c", 1.0).unwrap();
        let g = b.build();
        assert_eq!(g.n(), 3);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.weight(0, 1), Some(5.0));
        assert_eq!(g.weight(1, 0), Some(5.0));
        assert_eq!(g.weight(0, 2), None);
        assert_eq!(g.degree(1), 2);
    }

    #[test]
    fn self_loops_and_bad_weights_are_refused() {
        let mut b = GraphBuilder::new();
        assert_eq!(
            b.add_edge("a", "a", 1.0),
            Err(EdgeError::SelfLoop("a".into()))
        );
        assert!(matches!(
            b.add_edge("a", "b", -1.0),
            Err(EdgeError::BadWeight(_))
        ));
        assert!(matches!(
            b.add_edge("a", "b", f64::NAN),
            Err(EdgeError::BadWeight(_))
        ));
    }

    #[test]
    fn components_and_induced_subgraphs() {
        let g = Graph::from_edges(6, &[(0, 1), (1, 2), (3, 4)]);
        assert_eq!(g.components(), vec![vec![0, 1, 2], vec![3, 4], vec![5]]);
        let h = g.induced(&[2, 1]);
        assert_eq!(h.n(), 2);
        assert_eq!(h.name(0), "3");
        assert!(h.has_edge(0, 1));
        assert_eq!(
            g.bfs_distances(0),
            vec![0, 1, 2, u32::MAX, u32::MAX, u32::MAX]
        );
    }
}
