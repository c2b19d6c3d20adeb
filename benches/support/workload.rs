//! The graphs both engines are timed on, built through one small trait so
//! that chainrule and the reference build the identical graph.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::typical_port;

pub trait Engine {
    type V: Clone;
    fn leaf(x: f64) -> Self::V;
    fn add(a: &Self::V, b: &Self::V) -> Self::V;
    fn mul(a: &Self::V, b: &Self::V) -> Self::V;
    fn max(a: &Self::V, b: &Self::V) -> Self::V;
    fn ln(a: &Self::V) -> Self::V;
    fn backward(v: &Self::V);
    fn data(v: &Self::V) -> f64;
    fn grad(v: &Self::V) -> f64;
}

pub struct Chainrule;

impl Engine for Chainrule {
    type V = chainrule::Value;
    fn leaf(x: f64) -> Self::V {
        chainrule::Value::new(x)
    }
    fn add(a: &Self::V, b: &Self::V) -> Self::V {
        a + b
    }
    fn mul(a: &Self::V, b: &Self::V) -> Self::V {
        a * b
    }
    fn max(a: &Self::V, b: &Self::V) -> Self::V {
        a.max(b)
    }
    fn ln(a: &Self::V) -> Self::V {
        a.ln()
    }
    fn backward(v: &Self::V) {
        v.backward()
    }
    fn data(v: &Self::V) -> f64 {
        v.data()
    }
    fn grad(v: &Self::V) -> f64 {
        v.grad()
    }
}

pub struct TypicalPort;

impl Engine for TypicalPort {
    type V = typical_port::Value;
    fn leaf(x: f64) -> Self::V {
        typical_port::Value::new(x)
    }
    fn add(a: &Self::V, b: &Self::V) -> Self::V {
        a.add(b)
    }
    fn mul(a: &Self::V, b: &Self::V) -> Self::V {
        a.mul(b)
    }
    fn max(a: &Self::V, b: &Self::V) -> Self::V {
        a.max(b)
    }
    fn ln(a: &Self::V) -> Self::V {
        a.ln()
    }
    fn backward(v: &Self::V) {
        v.backward()
    }
    fn data(v: &Self::V) -> f64 {
        v.data()
    }
    fn grad(v: &Self::V) -> f64 {
        v.grad()
    }
}

/// The leaves a random graph draws from, made before timing starts.
pub struct Leaves<E: Engine> {
    /// Added: uniform in [-1, 1].
    pub addends: Vec<E::V>,
    /// Multiplied: ±e^u with u uniform in [-0.01, 0.01]. Products along a
    /// million-node path neither overflow nor underflow, so values stay
    /// finite and gradients O(1): every node does real backward work.
    pub factors: Vec<E::V>,
}

pub fn leaves<E: Engine>(count: usize, seed: u64) -> Leaves<E> {
    let mut rng = StdRng::seed_from_u64(seed);
    Leaves {
        addends: (0..count)
            .map(|_| E::leaf(rng.random_range(-1.0..1.0)))
            .collect(),
        factors: (0..count)
            .map(|_| {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                E::leaf(sign * rng.random_range(-0.01..0.01f64).exp())
            })
            .collect(),
    }
}

/// One node of a random graph: the gate and the index of its partner.
#[derive(Copy, Clone)]
pub enum Step {
    /// Add a leaf of `Leaves::addends`.
    Add(u32),
    /// Multiply by a leaf of `Leaves::factors`.
    Mul(u32),
    /// Max with the node this many steps back (1..=256).
    Max(u32),
}

/// The random choices of a graph of `nodes` binary nodes, drawn before
/// timing so that only the engines are timed: each node combines the
/// previous one with a random partner: add a random leaf (40%), multiply by
/// a random leaf (40%), or take the max with a random node among the last
/// 256 (20%, which gives nodes several consumers).
pub fn plan(nodes: usize, leaves: usize, seed: u64) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..nodes)
        .map(|i| match rng.random_range(0..10u32) {
            0..4 => Step::Add(rng.random_range(0..leaves as u32)),
            4..8 => Step::Mul(rng.random_range(0..leaves as u32)),
            _ => Step::Max(rng.random_range(1..=(i.clamp(1, 256) as u32))),
        })
        .collect()
}

/// Builds the graph of `plan` and returns its output. Only a ring of the
/// last 256 nodes is held while building, so the graph itself is all the
/// memory it takes.
pub fn random_graph<E: Engine>(plan: &[Step], leaves: &Leaves<E>) -> E::V {
    const RING: usize = 256;
    let mut ring: Vec<E::V> = vec![leaves.addends[0].clone(); RING];
    for (i, step) in plan.iter().enumerate() {
        let last = &ring[(i + RING - 1) % RING];
        let next = match *step {
            Step::Add(j) => E::add(last, &leaves.addends[j as usize]),
            Step::Mul(j) => E::mul(last, &leaves.factors[j as usize]),
            Step::Max(back) => E::max(last, &ring[(i + RING - back as usize) % RING]),
        };
        ring[i % RING] = next;
    }
    ring[(plan.len() + RING - 1) % RING].clone()
}

/// A chain of `nodes` add nodes: x + s + s + … + s.
pub fn chain<E: Engine>(nodes: usize, x: &E::V, s: &E::V) -> E::V {
    let mut y = x.clone();
    for _ in 0..nodes {
        y = E::add(&y, s);
    }
    y
}

/// The cache-hostile workload's random choices: for node `j` of each layer,
/// the node of the previous layer it meets besides node `j` (anywhere in
/// the layer: a far jump in memory) and whether it tries mul before add.
pub struct LayeredPlan {
    pub width: usize,
    pub layers: usize,
    partners: Vec<(u32, bool)>,
}

pub fn layered_plan(width: usize, layers: usize, seed: u64) -> LayeredPlan {
    let mut rng = StdRng::seed_from_u64(seed);
    LayeredPlan {
        width,
        layers,
        partners: (0..width * layers)
            .map(|_| (rng.random_range(0..width as u32), rng.random::<bool>()))
            .collect(),
    }
}

/// The inputs of a layered graph: `width` leaves uniform in [0.5, 2].
pub fn layered_inputs<E: Engine>(width: usize, seed: u64) -> Vec<E::V> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..width)
        .map(|_| E::leaf(rng.random_range(0.5..2.0)))
        .collect()
}

/// Builds the layered graph: in each layer, node `j` combines node `j` of
/// the previous layer with its partner by add or mul (the plan's first
/// choice, or the other one if the first's value would leave [0.25, 4]),
/// or, if both would, takes ln of the product (which then lies in
/// (ln 4, ln 16]); so every value stays in [0.25, 4]. Then a pairwise add
/// tree sums the last layer to one root. Returns the root and the number
/// of gates built.
pub fn layered_graph<E: Engine>(plan: &LayeredPlan, inputs: &[E::V]) -> (E::V, usize) {
    let in_range = |x: f64| (0.25..=4.0).contains(&x);
    let mut nodes = 0;
    let mut previous: Vec<E::V> = inputs.to_vec();
    for layer in 0..plan.layers {
        let choices = &plan.partners[layer * plan.width..(layer + 1) * plan.width];
        let next: Vec<E::V> = choices
            .iter()
            .enumerate()
            .map(|(j, &(partner, mul_first))| {
                let (a, b) = (&previous[j], &previous[partner as usize]);
                let (x, y) = (E::data(a), E::data(b));
                let (sum, product) = (x + y, x * y);
                nodes += 1;
                match (mul_first, in_range(product), in_range(sum)) {
                    (true, true, _) | (false, true, false) => E::mul(a, b),
                    (false, _, true) | (true, false, true) => E::add(a, b),
                    _ => {
                        nodes += 1;
                        E::ln(&E::mul(a, b))
                    }
                }
            })
            .collect();
        previous = next;
    }
    while previous.len() > 1 {
        let mut pairs = previous.chunks(2);
        let mut next = Vec::with_capacity(previous.len().div_ceil(2));
        for pair in &mut pairs {
            next.push(if let [a, b] = pair {
                nodes += 1;
                E::add(a, b)
            } else {
                pair[0].clone() // an odd one out goes up a level as it is
            });
        }
        previous = next;
    }
    (previous.remove(0), nodes)
}
