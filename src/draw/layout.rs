//! A layered (Sugiyama-style) layout in pure Rust whose cost is bounded:
//! ranks by longest path, a fixed number of barycenter sweeps to order each
//! rank, and least-squares positions under separation constraints (pool
//! adjacent violators), with clusters kept contiguous and disjoint.
//!
//! Every edge spans at least two ranks: the rank just before its head holds
//! the edge's label as a box the edge passes through, so no label ever
//! overlaps another edge or node. Edges that span more ranks pass through
//! one zero-size dummy per rank, up to a budget ([`MAX_VIRTUAL`]) beyond
//! which they are drawn as one curve; clusters get one filler per rank they
//! span and hold no member in, under the same budget (beyond it, clusters
//! are dropped and the graph drawn flat). The work is a fixed number of
//! sweeps over nodes, dummies and edges, each `O(n log n)`: polynomial, and
//! a few milliseconds for the 500 nodes a readable picture holds.
//!
//! Geometry is computed on two axes, the *rank* axis (x when drawn left to
//! right) and the *order* axis across it, and mapped to x and y at the end.

use super::dot::RankDir;

/// Most dummy and filler nodes one layout makes (see the module docs).
pub(crate) const MAX_VIRTUAL: usize = 40_000;

/// Barycenter sweeps over the ranks.
const ORDER_SWEEPS: usize = 12;

/// Gap between two real nodes of a rank.
const NODE_GAP: f64 = 14.0;
/// Gap next to a dummy or filler.
const DUMMY_GAP: f64 = 6.0;
/// Space between a cluster's outline and what it holds.
pub(crate) const CLUSTER_PAD: f64 = 8.0;
/// Room for a cluster's title, above (or, top to bottom, before) its
/// contents.
pub(crate) const CLUSTER_TITLE: f64 = 16.0;
/// Gap between neighbouring ranks, before clusters widen it.
const RANK_GAP: f64 = 26.0;
/// Margin around the picture.
const MARGIN: f64 = 8.0;

/// The size of a box: along the rank axis, and on the order axis before and
/// after the line its edges attach to (its centre, for a node).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Extent {
    pub(crate) along: f64,
    pub(crate) before: f64,
    pub(crate) after: f64,
    /// Whether the box is a circle (edges meet its outline, not its
    /// bounding box).
    pub(crate) round: bool,
}

impl Extent {
    /// A box `width` × `height` on screen, centred on its line.
    pub(crate) fn centred(rankdir: RankDir, width: f64, height: f64) -> Extent {
        let (along, across) = match rankdir {
            RankDir::LeftRight => (width, height),
            RankDir::TopBottom => (height, width),
        };
        Extent {
            along,
            before: across / 2.0,
            after: across / 2.0,
            round: false,
        }
    }
}

/// What to lay out. Nodes are indices into `nodes`; clusters into
/// `cluster_parent`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Problem {
    pub(crate) rankdir: RankDir,
    pub(crate) nodes: Vec<Extent>,
    /// The innermost cluster of each node, if any.
    pub(crate) node_cluster: Vec<Option<usize>>,
    /// The parent of each cluster (clusters nest; parents come first).
    pub(crate) cluster_parent: Vec<Option<usize>>,
    /// Edges: tail, head, and the label's box, if the edge has one.
    pub(crate) edges: Vec<(usize, usize, Option<Extent>)>,
}

/// A point on screen.
pub(crate) type Point = (f64, f64);

/// A rectangle on screen: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// Where everything went, on screen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Placed {
    /// Each node's centre.
    pub(crate) nodes: Vec<Point>,
    /// Each edge as straight pieces, joined by curves: the line from the
    /// end of one piece to the start of the next is a smooth S.
    pub(crate) edges: Vec<Vec<[Point; 2]>>,
    /// Where each edge's label box sits: the point on the edge at the box's
    /// centre along the rank axis.
    pub(crate) labels: Vec<Option<Point>>,
    /// Each cluster's outline (`None` when clusters were dropped, or for a
    /// cluster with no node).
    pub(crate) clusters: Vec<Option<Rect>>,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Real,
    Dummy,
    Label,
    Filler,
}

/// A node of the layered graph: a real node, or one the layout adds.
#[derive(Clone, Debug)]
struct Slot {
    kind: Kind,
    rank: usize,
    ext: Extent,
    /// Innermost cluster.
    cluster: Option<usize>,
}

/// The layered graph and its state while it is laid out.
struct Layered {
    slots: Vec<Slot>,
    /// Neighbours in lower ranks, and in higher ranks.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    /// The slots of each edge, tail first.
    chains: Vec<Vec<usize>>,
    ranks: Vec<Vec<usize>>,
    /// Position of each slot on the order axis.
    pos: Vec<f64>,
    /// Cluster paths, outermost first, for each slot's cluster.
    paths: Vec<Vec<usize>>,
}

/// Lays `problem` out.
pub(crate) fn layout(problem: &Problem) -> Placed {
    let n = problem.nodes.len();
    if n == 0 {
        return Placed {
            width: 2.0 * MARGIN,
            height: 2.0 * MARGIN,
            ..Placed::default()
        };
    }
    let rank = ranks(problem, !problem.cluster_parent.is_empty());
    let mut use_clusters = !problem.cluster_parent.is_empty();
    let mut graph = build(problem, &rank, use_clusters);
    if graph.is_none() {
        // Fillers over budget: draw without clusters.
        use_clusters = false;
        graph = build(problem, &rank, false);
    }
    let Some(mut g) = graph else {
        unreachable!("a layout without clusters makes no fillers")
    };
    order(&mut g, problem);
    coordinates(&mut g, problem, use_clusters);
    place(&g, problem, use_clusters)
}

/// Ranks: every edge goes at least two ranks down (room for its label),
/// nodes by longest path from the sources, then each pulled down to just
/// before its first consumer.
fn ranks(problem: &Problem, clusters: bool) -> Vec<usize> {
    let n = problem.nodes.len();
    // An edge that leaves or enters a cluster spans two more ranks, so that
    // a cluster's inputs (a neuron's weights) never share a rank with the
    // clusters that feed it, and clusters in sequence sit side by side.
    let span = |from: usize, to: usize| -> usize {
        let cluster = |v: usize| problem.node_cluster.get(v).copied().flatten();
        if clusters && cluster(from) != cluster(to) {
            4
        } else {
            2
        }
    };
    let mut outs = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(from, to, _) in &problem.edges {
        if from != to && from < n && to < n {
            outs[from].push(to);
            indegree[to] += 1;
        }
    }
    // Kahn's order; a cycle (which a drawing never has) leaves its nodes in
    // index order at the end, with the closing edges pointing back.
    let mut order: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut seen = vec![false; n];
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        seen[v] = true;
        for &w in &outs[v] {
            indegree[w] -= 1;
            if indegree[w] == 0 {
                order.push(w);
            }
        }
    }
    order.extend((0..n).filter(|&v| !seen[v]));
    let mut place = vec![0usize; n];
    for (i, &v) in order.iter().enumerate() {
        place[v] = i;
    }
    let mut rank = vec![0usize; n];
    for &v in &order {
        for &w in &outs[v] {
            if place[w] > place[v] {
                rank[w] = rank[w].max(rank[v] + span(v, w));
            }
        }
    }
    // Then every node as late as its consumers allow (a neuron's bias
    // product next to its Σ, an input next to its first use), latest
    // consumers first.
    for &v in order.iter().rev() {
        let first_use = outs[v]
            .iter()
            .filter(|&&w| place[w] > place[v])
            .map(|&w| rank[w].saturating_sub(span(v, w)))
            .min();
        if let Some(r) = first_use {
            rank[v] = r.max(rank[v]);
        }
    }
    rank
}

/// The cluster path (outermost first) of a cluster.
fn path_of(parents: &[Option<usize>], cluster: Option<usize>) -> Vec<usize> {
    let mut path = Vec::new();
    let mut at = cluster;
    while let Some(c) = at {
        if path.len() > parents.len() {
            break; // a cycle of parents: treat as flat
        }
        path.push(c);
        at = parents.get(c).copied().flatten();
    }
    path.reverse();
    path
}

/// The innermost cluster holding both.
fn common(a: &[usize], b: &[usize]) -> Option<usize> {
    a.iter()
        .zip(b)
        .take_while(|(x, y)| x == y)
        .last()
        .map(|(x, _)| *x)
}

/// Builds the layered graph; `None` if it would need more virtual nodes
/// than the budget allows (only possible with clusters: dummies beyond the
/// budget become long segments instead).
fn build(problem: &Problem, rank: &[usize], clusters: bool) -> Option<Layered> {
    let n = problem.nodes.len();
    let parents: &[Option<usize>] = if clusters {
        &problem.cluster_parent
    } else {
        &[]
    };
    let cluster_of = |v: usize| -> Option<usize> {
        if clusters {
            problem.node_cluster.get(v).copied().flatten()
        } else {
            None
        }
    };
    let mut slots: Vec<Slot> = (0..n)
        .map(|v| Slot {
            kind: Kind::Real,
            rank: rank[v],
            ext: problem.nodes[v],
            cluster: cluster_of(v),
        })
        .collect();
    let mut budget = MAX_VIRTUAL;
    let mut chains = Vec::with_capacity(problem.edges.len());
    for &(from, to, label) in &problem.edges {
        if from >= n || to >= n || from == to {
            chains.push(Vec::new());
            continue;
        }
        let (tail, head) = (rank[from].min(rank[to]), rank[from].max(rank[to]));
        let forward = rank[from] <= rank[to];
        let shared = common(
            &path_of(parents, cluster_of(from)),
            &path_of(parents, cluster_of(to)),
        );
        // The label tells what flows into the head: it sits in the head's
        // cluster, beside the head's other inputs.
        let head_cluster = cluster_of(if rank[from] <= rank[to] { to } else { from });
        let tail_cluster = cluster_of(if rank[from] <= rank[to] { from } else { to });
        let mut chain = vec![if forward { from } else { to }];
        let inner = head.saturating_sub(tail + 1);
        let long = inner > 1 && inner - 1 > budget;
        for r in tail + 1..head {
            let is_label = r + 1 == head;
            if long && !is_label {
                continue;
            }
            if !is_label {
                budget -= 1;
            }
            let kind = if is_label { Kind::Label } else { Kind::Dummy };
            chain.push(slots.len());
            slots.push(Slot {
                kind,
                rank: r,
                ext: if is_label {
                    label.unwrap_or_default()
                } else {
                    Extent::default()
                },
                // Near its ends, an edge runs inside its ends' clusters (it
                // enters a cluster beside the cluster's own inputs).
                cluster: if r + 2 >= head {
                    head_cluster
                } else if r <= tail + 1 {
                    tail_cluster
                } else {
                    shared
                },
            });
        }
        chain.push(if forward { to } else { from });
        if !forward {
            chain.reverse();
        }
        chains.push(chain);
    }
    let ranks_count = slots.iter().map(|s| s.rank).max().unwrap_or(0) + 1;
    // Fillers: a cluster holds a slot in every rank it spans.
    if clusters {
        let count = problem.cluster_parent.len();
        let mut span: Vec<Option<(usize, usize)>> = vec![None; count];
        let mut present = vec![Vec::<usize>::new(); count];
        for slot in &slots {
            for c in path_of(parents, slot.cluster) {
                if c < count {
                    span[c] = Some(match span[c] {
                        None => (slot.rank, slot.rank),
                        Some((lo, hi)) => (lo.min(slot.rank), hi.max(slot.rank)),
                    });
                    present[c].push(slot.rank);
                }
            }
        }
        for c in 0..count {
            let Some((lo, hi)) = span[c] else { continue };
            let mut here = vec![false; hi - lo + 1];
            for &r in &present[c] {
                here[r - lo] = true;
            }
            for (i, &held) in here.iter().enumerate() {
                if held {
                    continue;
                }
                if budget == 0 {
                    return None;
                }
                budget -= 1;
                slots.push(Slot {
                    kind: Kind::Filler,
                    rank: lo + i,
                    ext: Extent::default(),
                    cluster: Some(c),
                });
            }
        }
    }
    let count = slots.len();
    let mut up = vec![Vec::new(); count];
    let mut down = vec![Vec::new(); count];
    for chain in &chains {
        for pair in chain.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }
    let mut ranks = vec![Vec::new(); ranks_count];
    for (i, slot) in slots.iter().enumerate() {
        ranks[slot.rank].push(i);
    }
    let paths = slots.iter().map(|s| path_of(parents, s.cluster)).collect();
    Some(Layered {
        slots,
        up,
        down,
        chains,
        ranks,
        pos: vec![0.0; count],
        paths,
    })
}

/// Orders each rank: barycenter sweeps, clusters kept contiguous and in the
/// same order in every rank, the ordering with fewest crossings kept.
fn order(g: &mut Layered, problem: &Problem) {
    let clusters = problem.cluster_parent.len();
    // Start from the order the slots were made in (topological for real
    // nodes), grouped by cluster.
    let mut key: Vec<f64> = (0..g.slots.len()).map(|i| i as f64).collect();
    let mut cluster_key = cluster_keys(g, &key, clusters);
    for r in 0..g.ranks.len() {
        sort_rank(g, r, &key, &cluster_key);
    }
    normalise(g);
    let mut best = g.ranks.clone();
    let mut best_crossings = crossings(g);
    for sweep in 0..ORDER_SWEEPS {
        if best_crossings == 0 {
            break;
        }
        let downward = sweep % 2 == 0;
        // Cluster keys from both directions, for the whole sweep.
        for (i, k) in key.iter_mut().enumerate() {
            *k = barycenter(g, i, true, true).unwrap_or(g.pos[i]);
        }
        cluster_key = cluster_keys(g, &key, clusters);
        // Every rank is sorted in every sweep, so that all ranks order the
        // clusters by the same keys (the ranks at the ends keep their
        // positions as keys).
        let sequence: Vec<usize> = if downward {
            (0..g.ranks.len()).collect()
        } else {
            (0..g.ranks.len()).rev().collect()
        };
        for r in sequence {
            for &i in &g.ranks[r] {
                key[i] = barycenter(g, i, downward, !downward).unwrap_or(g.pos[i]);
            }
            sort_rank(g, r, &key, &cluster_key);
            let len = g.ranks[r].len() as f64;
            for (at, &i) in g.ranks[r].iter().enumerate() {
                g.pos[i] = (at as f64 + 0.5) / len;
            }
        }
        let now = crossings(g);
        if now < best_crossings {
            best_crossings = now;
            best = g.ranks.clone();
        }
    }
    g.ranks = best;
    normalise(g);
}

/// Each cluster's key: the mean key of the slots it holds, deepest
/// included.
fn cluster_keys(g: &Layered, key: &[f64], clusters: usize) -> Vec<f64> {
    let mut sum = vec![0.0; clusters];
    let mut count = vec![0usize; clusters];
    for (i, path) in g.paths.iter().enumerate() {
        if g.slots[i].kind == Kind::Filler {
            continue;
        }
        for &c in path {
            if c < clusters {
                sum[c] += key[i];
                count[c] += 1;
            }
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect()
}

/// The mean position of a slot's neighbours above and/or below.
fn barycenter(g: &Layered, i: usize, above: bool, below: bool) -> Option<f64> {
    let mut sum = 0.0;
    let mut count = 0usize;
    if above {
        for &j in &g.up[i] {
            sum += g.pos[j];
            count += 1;
        }
    }
    if below {
        for &j in &g.down[i] {
            sum += g.pos[j];
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// Sorts rank `r` by key, keeping each cluster's slots together: two slots
/// compare by the first level of their cluster paths where they part.
fn sort_rank(g: &mut Layered, r: usize, key: &[f64], cluster_key: &[f64]) {
    let mut rank = std::mem::take(&mut g.ranks[r]);
    let item = |i: usize, level: usize| -> (f64, usize, usize) {
        match g.paths[i].get(level) {
            Some(&c) => {
                let k = match g.slots[i].kind {
                    _ if c < cluster_key.len() => cluster_key[c],
                    _ => key[i],
                };
                (k, 1, c)
            }
            None => {
                // A filler sits at its cluster's key.
                let k = if g.slots[i].kind == Kind::Filler {
                    g.slots[i]
                        .cluster
                        .and_then(|c| cluster_key.get(c).copied())
                        .unwrap_or(key[i])
                } else {
                    key[i]
                };
                (k, 0, i)
            }
        }
    };
    rank.sort_by(|&a, &b| {
        let (pa, pb) = (&g.paths[a], &g.paths[b]);
        let level = pa.iter().zip(pb).take_while(|(x, y)| x == y).count();
        let (ka, ta, ia) = item(a, level);
        let (kb, tb, ib) = item(b, level);
        ka.total_cmp(&kb)
            .then(ta.cmp(&tb))
            .then(ia.cmp(&ib))
            .then(a.cmp(&b))
    });
    g.ranks[r] = rank;
}

/// Positions as fractions of each rank, for barycenters.
fn normalise(g: &mut Layered) {
    for rank in &g.ranks {
        let len = rank.len() as f64;
        for (at, &i) in rank.iter().enumerate() {
            g.pos[i] = (at as f64 + 0.5) / len;
        }
    }
}

/// Edge crossings between neighbouring ranks (inversions, counted with a
/// Fenwick tree).
fn crossings(g: &Layered) -> u64 {
    let mut index = vec![0usize; g.slots.len()];
    for rank in &g.ranks {
        for (at, &i) in rank.iter().enumerate() {
            index[i] = at;
        }
    }
    let mut total = 0u64;
    for r in 0..g.ranks.len().saturating_sub(1) {
        let mut pairs: Vec<(usize, usize)> = g.ranks[r]
            .iter()
            .flat_map(|&i| {
                g.down[i]
                    .iter()
                    .filter(|&&j| g.slots[j].rank == r + 1)
                    .map(move |&j| (i, j))
            })
            .map(|(i, j)| (index[i], index[j]))
            .collect();
        pairs.sort_unstable();
        let size = g.ranks[r + 1].len() + 1;
        let mut tree = vec![0u64; size + 1];
        for (seen, &(_, b)) in pairs.iter().enumerate() {
            // Earlier pairs with a larger head position cross this one.
            let mut at = b + 1;
            let mut not_larger = 0;
            while at > 0 {
                not_larger += tree[at];
                at &= at - 1;
            }
            total += seen as u64 - not_larger;
            let mut at = b + 1;
            while at <= size {
                tree[at] += 1;
                at += at & at.wrapping_neg();
            }
        }
    }
    total
}

/// The room a cluster's title takes on the order axis: above its contents
/// when drawn left to right; top to bottom it takes room on the rank axis
/// instead.
fn title_across(rankdir: RankDir) -> f64 {
    match rankdir {
        RankDir::LeftRight => CLUSTER_TITLE,
        RankDir::TopBottom => 0.0,
    }
}

/// The least distance between the lines of neighbours `a` then `b` in a
/// rank: their extents, a gap, and the padding of every cluster boundary
/// between them.
fn separation(g: &Layered, a: usize, b: usize, rankdir: RankDir) -> f64 {
    let (sa, sb) = (&g.slots[a], &g.slots[b]);
    let gap = if sa.kind == Kind::Real && sb.kind == Kind::Real {
        NODE_GAP
    } else {
        DUMMY_GAP
    };
    let (pa, pb) = (&g.paths[a], &g.paths[b]);
    let shared = pa.iter().zip(pb).take_while(|(x, y)| x == y).count();
    let closing = (pa.len() - shared) as f64 * CLUSTER_PAD;
    let opening = (pb.len() - shared) as f64 * (CLUSTER_PAD + title_across(rankdir));
    sa.ext.after + sb.ext.before + gap + closing + opening
}

/// Positions on the order axis: each rank pulled towards its neighbours'
/// positions by least squares under the separations, then clusters pushed
/// apart so that their outlines never overlap.
fn coordinates(g: &mut Layered, problem: &Problem, clusters: bool) {
    let rankdir = problem.rankdir;
    // Packed start.
    for r in 0..g.ranks.len() {
        let mut at = 0.0;
        for k in 0..g.ranks[r].len() {
            if k > 0 {
                at += separation(g, g.ranks[r][k - 1], g.ranks[r][k], rankdir);
            }
            let i = g.ranks[r][k];
            g.pos[i] = at;
        }
    }
    let passes = [
        (true, false),
        (false, true),
        (true, false),
        (false, true),
        (true, true),
        (true, true),
        (true, true),
        (true, true),
    ];
    for (above, below) in passes {
        let sequence: Vec<usize> = if above && !below {
            (0..g.ranks.len()).collect()
        } else if below && !above {
            (0..g.ranks.len()).rev().collect()
        } else {
            (0..g.ranks.len()).collect()
        };
        for r in sequence {
            let rank = g.ranks[r].clone();
            if rank.is_empty() {
                continue;
            }
            let seps: Vec<f64> = rank
                .windows(2)
                .map(|w| separation(g, w[0], w[1], rankdir))
                .collect();
            let targets: Vec<(f64, f64)> = rank
                .iter()
                .map(|&i| match barycenter_abs(g, i, above, below) {
                    // Dummies are pulled harder: long edges stay straight.
                    Some((t, w)) => (
                        t,
                        w * if g.slots[i].kind == Kind::Real {
                            1.0
                        } else {
                            2.0
                        },
                    ),
                    None => (g.pos[i], 0.1),
                })
                .collect();
            let solved = isotonic(&targets, &seps);
            for (k, &i) in rank.iter().enumerate() {
                g.pos[i] = solved[k];
            }
        }
    }
    if clusters {
        separate_clusters(g, problem);
    }
}

/// The mean absolute position of a slot's neighbours, and their count.
fn barycenter_abs(g: &Layered, i: usize, above: bool, below: bool) -> Option<(f64, f64)> {
    let mut sum = 0.0;
    let mut count = 0usize;
    let lists = [(above, &g.up[i]), (below, &g.down[i])];
    for (on, list) in lists {
        if on {
            for &j in list {
                sum += g.pos[j];
                count += 1;
            }
        }
    }
    (count > 0).then(|| (sum / count as f64, count as f64))
}

/// Least squares: positions as near the weighted targets as they can be
/// with `y[k+1] - y[k] >= seps[k]` (pool adjacent violators on
/// `y[k] - Σ seps[..k]`).
fn isotonic(targets: &[(f64, f64)], seps: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(targets.len());
    let mut acc = 0.0;
    for k in 0..targets.len() {
        if k > 0 {
            acc += seps[k - 1];
        }
        offset.push(acc);
    }
    // Blocks: (weighted mean, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(targets.len());
    for (k, &(t, w)) in targets.iter().enumerate() {
        let w = if w.is_finite() && w > 0.0 { w } else { 0.1 };
        let t = if t.is_finite() { t } else { 0.0 };
        let mut block = (t - offset[k], w, 1usize);
        while let Some(&last) = blocks.last() {
            if last.0 <= block.0 {
                break;
            }
            blocks.pop();
            let weight = last.1 + block.1;
            block = (
                (last.0 * last.1 + block.0 * block.1) / weight,
                weight,
                last.2 + block.2,
            );
        }
        blocks.push(block);
    }
    let mut out = Vec::with_capacity(targets.len());
    for (mean, _, count) in blocks {
        for _ in 0..count {
            let k = out.len();
            out.push(mean + offset[k]);
        }
    }
    out
}

/// The slots inside cluster `c` (at any depth).
fn members(g: &Layered, c: usize) -> impl Iterator<Item = usize> + '_ {
    (0..g.slots.len()).filter(move |&i| g.paths[i].contains(&c))
}

/// A cluster's outline on the order axis, from the slots it holds.
fn cluster_span(g: &Layered, c: usize, depth_of: &[usize], rankdir: RankDir) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let title = title_across(rankdir);
    for i in members(g, c) {
        let path = &g.paths[i];
        // Levels between this cluster and the slot, each padded.
        let inner = path.len() - 1 - depth_of[c];
        let before = (inner + 1) as f64 * (CLUSTER_PAD + title);
        let after = (inner + 1) as f64 * CLUSTER_PAD;
        lo = lo.min(g.pos[i] - g.slots[i].ext.before - before);
        hi = hi.max(g.pos[i] + g.slots[i].ext.after + after);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Pushes clusters (and what follows them in each rank) along the order
/// axis until no two outlines overlap, innermost clusters first. Only ever
/// pushes later items further, in an order where every item's
/// predecessors are final.
fn separate_clusters(g: &mut Layered, problem: &Problem) {
    let parents = &problem.cluster_parent;
    let count = parents.len();
    let depth_of: Vec<usize> = (0..count)
        .map(|c| path_of(parents, Some(c)).len() - 1)
        .collect();
    let max_depth = depth_of.iter().copied().max().unwrap_or(0);
    // Levels: the children of every cluster of depth d, deepest first, then
    // the top level (parent None).
    let mut scopes: Vec<Option<usize>> = (0..count)
        .filter(|&c| depth_of[c] <= max_depth)
        .map(Some)
        .collect();
    scopes.sort_by_key(|s| std::cmp::Reverse(s.map_or(0, |c| depth_of[c] + 1)));
    scopes.push(None);
    for scope in scopes {
        let level = scope.map_or(0, |c| depth_of[c] + 1);
        // Items at this level: a child cluster, or a slot directly here.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        enum Item {
            Cluster(usize),
            Slot(usize),
        }
        let item_of = |i: usize| -> Option<Item> {
            let path = &g.paths[i];
            let inside = match scope {
                None => true,
                Some(c) => path.get(level - 1) == Some(&c),
            };
            if !inside {
                return None;
            }
            Some(match path.get(level) {
                Some(&child) => Item::Cluster(child),
                None => Item::Slot(i),
            })
        };
        // Successor relations from each rank's order.
        let mut items: Vec<Item> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut succ: Vec<Vec<usize>> = Vec::new();
        for rank in &g.ranks {
            let mut previous: Option<usize> = None;
            for &i in rank {
                let Some(item) = item_of(i) else { continue };
                let id = *index.entry(item).or_insert_with(|| {
                    items.push(item);
                    succ.push(Vec::new());
                    items.len() - 1
                });
                if let Some(p) = previous
                    && p != id
                {
                    succ[p].push(id);
                }
                previous = Some(id);
            }
        }
        if !items.iter().any(|i| matches!(i, Item::Cluster(_))) {
            continue;
        }
        let mut indegree = vec![0usize; items.len()];
        for list in &succ {
            for &s in list {
                indegree[s] += 1;
            }
        }
        let mut queue: Vec<usize> = (0..items.len()).filter(|&i| indegree[i] == 0).collect();
        let mut head = 0;
        // Lowest allowed start of each item.
        let mut floor = vec![f64::NEG_INFINITY; items.len()];
        while head < queue.len() {
            let id = queue[head];
            head += 1;
            let span = match items[id] {
                Item::Cluster(c) => cluster_span(g, c, &depth_of, problem.rankdir),
                Item::Slot(i) => Some((
                    g.pos[i] - g.slots[i].ext.before,
                    g.pos[i] + g.slots[i].ext.after,
                )),
            };
            let Some((mut lo, mut hi)) = span else {
                continue;
            };
            if lo < floor[id] {
                let shift = floor[id] - lo;
                match items[id] {
                    Item::Cluster(c) => {
                        let inside: Vec<usize> = members(g, c).collect();
                        for i in inside {
                            g.pos[i] += shift;
                        }
                    }
                    Item::Slot(i) => g.pos[i] += shift,
                }
                lo += shift;
                hi += shift;
            }
            let _ = lo;
            for &s in &succ[id] {
                floor[s] = floor[s].max(hi + NODE_GAP / 2.0);
                indegree[s] -= 1;
                if indegree[s] == 0 {
                    queue.push(s);
                }
            }
        }
    }
}

/// Rank-axis coordinates, and everything mapped to the screen.
fn place(g: &Layered, problem: &Problem, clusters: bool) -> Placed {
    let rankdir = problem.rankdir;
    let parents: &[Option<usize>] = if clusters {
        &problem.cluster_parent
    } else {
        &[]
    };
    let count = parents.len();
    let depth_of: Vec<usize> = (0..count)
        .map(|c| path_of(parents, Some(c)).len() - 1)
        .collect();
    let max_depth = depth_of.iter().map(|d| d + 1).max().unwrap_or(0) as f64;
    let title_along = CLUSTER_TITLE - title_across(rankdir);
    // Clusters' padding on the rank axis must fit in the gaps.
    // Every level's title (top to bottom) and padding fit in the gaps.
    let gap = RANK_GAP.max(max_depth * (2.0 * CLUSTER_PAD + title_along) + 6.0);
    let thickness: Vec<f64> = g
        .ranks
        .iter()
        .map(|rank| {
            rank.iter()
                .map(|&i| g.slots[i].ext.along)
                .fold(0.0, f64::max)
        })
        .collect();
    let mut centre = Vec::with_capacity(thickness.len());
    let mut at = 0.0;
    for (r, &t) in thickness.iter().enumerate() {
        if r > 0 {
            at += thickness[r - 1] / 2.0 + gap + t / 2.0;
        }
        centre.push(at);
    }
    // Cluster outlines on both axes, before the shift to the margin.
    let mut outlines: Vec<Option<(f64, f64, f64, f64)>> = vec![None; count];
    for (c, outline) in outlines.iter_mut().enumerate() {
        let Some((olo, ohi)) = cluster_span(g, c, &depth_of, rankdir) else {
            continue;
        };
        let mut rlo = f64::INFINITY;
        let mut rhi = f64::NEG_INFINITY;
        for i in members(g, c) {
            let r = g.slots[i].rank;
            let inner = (g.paths[i].len() - 1 - depth_of[c] + 1) as f64;
            rlo = rlo.min(centre[r] - thickness[r] / 2.0 - inner * (CLUSTER_PAD + title_along));
            rhi = rhi.max(centre[r] + thickness[r] / 2.0 + inner * CLUSTER_PAD);
        }
        *outline = Some((rlo, rhi, olo, ohi));
    }
    // Bounds.
    let mut rmin = 0.0f64;
    let mut rmax = 0.0f64;
    let mut omin = f64::INFINITY;
    let mut omax = f64::NEG_INFINITY;
    for (i, slot) in g.slots.iter().enumerate() {
        let r = slot.rank;
        rmin = rmin.min(centre[r] - thickness[r] / 2.0);
        rmax = rmax.max(centre[r] + thickness[r] / 2.0);
        omin = omin.min(g.pos[i] - slot.ext.before);
        omax = omax.max(g.pos[i] + slot.ext.after);
    }
    for &(rlo, rhi, olo, ohi) in outlines.iter().flatten() {
        rmin = rmin.min(rlo);
        rmax = rmax.max(rhi);
        omin = omin.min(olo);
        omax = omax.max(ohi);
    }
    let screen = |r: f64, o: f64| -> Point {
        let (r, o) = (r - rmin + MARGIN, o - omin + MARGIN);
        match rankdir {
            RankDir::LeftRight => (r, o),
            RankDir::TopBottom => (o, r),
        }
    };
    let nodes = (0..problem.nodes.len())
        .map(|v| screen(centre[g.slots[v].rank], g.pos[v]))
        .collect();
    let ports = ports(g);
    let mut edges = Vec::with_capacity(g.chains.len());
    let mut labels = Vec::with_capacity(g.chains.len());
    for (e, chain) in g.chains.iter().enumerate() {
        let mut pieces = Vec::with_capacity(chain.len());
        let mut label = None;
        for (k, &i) in chain.iter().enumerate() {
            let slot = &g.slots[i];
            let (c, t) = (centre[slot.rank], thickness[slot.rank]);
            let mut o = g.pos[i];
            let (enter, exit) = if slot.kind == Kind::Real {
                let offset = if k == 0 { ports[e].0 } else { ports[e].1 };
                o += offset;
                let half = if slot.ext.round {
                    let r = slot.ext.along / 2.0;
                    (r * r - offset * offset).max(0.0).sqrt()
                } else {
                    slot.ext.along / 2.0
                };
                if k == 0 {
                    (c + half, c + t / 2.0)
                } else {
                    (c - t / 2.0, c - half)
                }
            } else {
                (c - t / 2.0, c + t / 2.0)
            };
            if slot.kind == Kind::Label && problem.edges[e].2.is_some() {
                label = Some(screen(c, o));
            }
            pieces.push([screen(enter, o), screen(exit, o)]);
        }
        edges.push(pieces);
        labels.push(label);
    }
    let clusters_out = outlines
        .iter()
        .map(|o| {
            o.map(|(rlo, rhi, olo, ohi)| {
                let (x0, y0) = screen(rlo, olo);
                let (x1, y1) = screen(rhi, ohi);
                Rect {
                    x: x0.min(x1),
                    y: y0.min(y1),
                    width: (x1 - x0).abs(),
                    height: (y1 - y0).abs(),
                }
            })
        })
        .collect::<Vec<_>>();
    let (r_size, o_size) = (rmax - rmin + 2.0 * MARGIN, omax - omin + 2.0 * MARGIN);
    let (width, height) = match rankdir {
        RankDir::LeftRight => (r_size, o_size),
        RankDir::TopBottom => (o_size, r_size),
    };
    let mut all_clusters = clusters_out;
    all_clusters.resize(problem.cluster_parent.len(), None);
    Placed {
        nodes,
        edges,
        labels,
        clusters: all_clusters,
        width,
        height,
    }
}

/// Where each edge leaves its tail and meets its head, as offsets from
/// their centre lines: a node's edges on one side spread over its middle
/// part in the order of their other ends, so they neither bunch into one
/// point nor cross at the node.
fn ports(g: &Layered) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); g.chains.len()];
    // Per real node and side: (position of the neighbouring slot, edge).
    let mut sides: std::collections::HashMap<(usize, bool), Vec<(f64, usize)>> =
        std::collections::HashMap::new();
    for (e, chain) in g.chains.iter().enumerate() {
        if chain.len() < 2 {
            continue;
        }
        let (tail, head) = (chain[0], chain[chain.len() - 1]);
        sides
            .entry((tail, false))
            .or_default()
            .push((g.pos[chain[1]], e));
        sides
            .entry((head, true))
            .or_default()
            .push((g.pos[chain[chain.len() - 2]], e));
    }
    for ((node, incoming), mut list) in sides {
        if list.len() < 2 {
            continue;
        }
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let ext = g.slots[node].ext;
        let room = (ext.before + ext.after) * 0.6;
        let step = (room / (list.len() - 1) as f64).min(6.0);
        let first = -step * (list.len() - 1) as f64 / 2.0;
        for (k, &(_, e)) in list.iter().enumerate() {
            let offset = first + step * k as f64;
            if incoming {
                out[e].1 = offset;
            } else {
                out[e].0 = offset;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random drawing: `n` boxes, edges from lower to higher indices,
    /// some labelled, boxes in up to 6 clusters nested up to three deep.
    fn problem() -> impl Strategy<Value = Problem> {
        (2usize..40, any::<bool>()).prop_flat_map(|(n, top_bottom)| {
            let sizes = prop::collection::vec((10.0f64..120.0, 10.0f64..40.0), n);
            let edges = prop::collection::vec(
                (0..n, 0..n, prop::option::of((4.0f64..60.0, 3.0f64..15.0))),
                0..3 * n,
            );
            let clusters = prop::collection::vec(prop::option::of(0usize..6), n);
            (sizes, edges, clusters).prop_map(move |(sizes, edges, clusters)| {
                let rankdir = if top_bottom {
                    RankDir::TopBottom
                } else {
                    RankDir::LeftRight
                };
                Problem {
                    rankdir,
                    nodes: sizes
                        .iter()
                        .map(|&(w, h)| Extent::centred(rankdir, w, h))
                        .collect(),
                    node_cluster: clusters,
                    // Three deep: 5 in 1 in 0; 2 beside 1; 4 in 3.
                    cluster_parent: vec![None, Some(0), Some(0), None, Some(3), Some(1)],
                    edges: edges
                        .into_iter()
                        .filter(|(a, b, _)| a != b)
                        .map(|(a, b, label)| {
                            let (from, to) = (a.min(b), a.max(b));
                            let label = label.map(|(along, across)| Extent {
                                along,
                                before: across,
                                after: across,
                                round: false,
                            });
                            (from, to, label)
                        })
                        .collect(),
                }
            })
        })
    }

    /// left, top, right, bottom
    type Boxed = (f64, f64, f64, f64);

    fn overlap(a: Boxed, b: Boxed) -> bool {
        a.0 < b.2 - 0.01 && b.0 < a.2 - 0.01 && a.1 < b.3 - 0.01 && b.1 < a.3 - 0.01
    }

    /// The box of extent `e` whose line passes through `point`.
    fn boxed(p: &Problem, point: Point, e: Extent) -> Boxed {
        let (x, y) = point;
        match p.rankdir {
            RankDir::LeftRight => (
                x - e.along / 2.0,
                y - e.before,
                x + e.along / 2.0,
                y + e.after,
            ),
            RankDir::TopBottom => (
                x - e.before,
                y - e.along / 2.0,
                x + e.after,
                y + e.along / 2.0,
            ),
        }
    }

    fn inside(inner: Boxed, outer: Rect) -> bool {
        inner.0 >= outer.x - 0.01
            && inner.1 >= outer.y - 0.01
            && inner.2 <= outer.x + outer.width + 0.01
            && inner.3 <= outer.y + outer.height + 0.01
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Nothing overlaps: no two nodes, no label with a node or another
        /// label; every node lies inside its clusters, and two clusters are
        /// nested or apart.
        #[test]
        fn nothing_overlaps(p in problem()) {
            let placed = layout(&p);
            let n = p.nodes.len();
            let nodes: Vec<Boxed> = (0..n).map(|v| boxed(&p, placed.nodes[v], p.nodes[v])).collect();
            let labels: Vec<Boxed> = p
                .edges
                .iter()
                .zip(&placed.labels)
                .filter_map(|((_, _, e), at)| Some(boxed(&p, (*at)?, (*e)?)))
                .collect();
            prop_assert_eq!(labels.len(), p.edges.iter().filter(|e| e.2.is_some()).count());
            for i in 0..n {
                for j in i + 1..n {
                    prop_assert!(!overlap(nodes[i], nodes[j]), "nodes {} and {}", i, j);
                }
                for (k, l) in labels.iter().enumerate() {
                    prop_assert!(!overlap(nodes[i], *l), "node {} and label {}", i, k);
                }
            }
            for i in 0..labels.len() {
                for j in i + 1..labels.len() {
                    prop_assert!(!overlap(labels[i], labels[j]), "labels {} and {}", i, j);
                }
            }
            let rects = &placed.clusters;
            for (v, &node) in nodes.iter().enumerate() {
                let mut at = p.node_cluster[v];
                while let Some(c) = at {
                    let rect = rects[c].expect("a cluster with a node has an outline");
                    prop_assert!(inside(node, rect), "node {} outside cluster {}", v, c);
                    at = p.cluster_parent[c];
                }
            }
            let ancestor = |a: usize, b: usize| {
                let mut at = p.cluster_parent[b];
                while let Some(c) = at {
                    if c == a {
                        return true;
                    }
                    at = p.cluster_parent[c];
                }
                false
            };
            for a in 0..rects.len() {
                for b in a + 1..rects.len() {
                    let (Some(ra), Some(rb)) = (rects[a], rects[b]) else { continue };
                    if ancestor(a, b) || ancestor(b, a) {
                        continue;
                    }
                    let ba = (ra.x, ra.y, ra.x + ra.width, ra.y + ra.height);
                    let bb = (rb.x, rb.y, rb.x + rb.width, rb.y + rb.height);
                    prop_assert!(!overlap(ba, bb), "clusters {} and {} overlap", a, b);
                }
            }
            prop_assert!(placed.width.is_finite() && placed.height.is_finite());
        }
    }
}
