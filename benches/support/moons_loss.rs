//! micrograd's moons demo as the report and the instruction-count
//! workloads build it: 2-16-16-1 relu MLP (micrograd's uniform init, seed
//! 0), mean binary hinge over the points fed in as numbers, plus 1e-4 L2.
//! (The `moons` bench builds its own step, which also counts accuracy.)

use chainrule::data::{self, Moons};
use chainrule::nn::{Activation, Init, Mlp};
use chainrule::{Value, loss};
use rand::SeedableRng;

/// The points and the network, from seed 0.
pub fn setup(points: usize) -> (Moons, Mlp) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let moons = data::moons(points, 0.1, &mut rng);
    let mlp = Mlp::with_init(&[2, 16, 16, 1], Activation::Relu, Init::Uniform, &mut rng)
        .expect("valid sizes");
    (moons, mlp)
}

/// The loss of `mlp` (whose parameters are `parameters`) on `moons`.
pub fn loss(mlp: &Mlp, parameters: &[Value], moons: &Moons) -> Value {
    let losses: Vec<Value> = moons
        .points
        .iter()
        .zip(&moons.labels)
        .map(|(p, &y)| {
            let score = mlp.forward_f64(p).expect("two inputs").remove(0);
            loss::binary_hinge(&score, y).expect("labels are ±1")
        })
        .collect();
    loss::mean(&losses).expect("points") + loss::l2(parameters) * 1e-4
}
