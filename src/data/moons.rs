//! Two interleaving half circles, as scikit-learn's `make_moons`, which
//! micrograd's demo trains on; generated here from a seeded rng.

use rand::{Rng, RngExt};

/// Points and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Moons {
    /// The points.
    pub points: Vec<[f64; 2]>,
    /// +1 for the upper moon, -1 for the lower one (micrograd's `y * 2 - 1`).
    pub labels: Vec<f64>,
}

/// `n` points on two half circles (the upper centred at (0, 0), the lower at
/// (1, 0.5) and turned over), `n / 2` on the upper one, with Gaussian noise
/// of standard deviation `noise` added to each coordinate, in random order.
///
/// ```
/// use chainrule::data::moons;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let data = moons(100, 0.1, &mut rng);
/// assert_eq!((data.points.len(), data.labels.len()), (100, 100));
/// assert_eq!(data.labels.iter().filter(|&&y| y == 1.0).count(), 50);
/// ```
pub fn moons<R: Rng + ?Sized>(n: usize, noise: f64, rng: &mut R) -> Moons {
    let upper = n / 2;
    let lower = n - upper;
    let angle = |i: usize, count: usize| {
        if count > 1 {
            std::f64::consts::PI * i as f64 / (count - 1) as f64
        } else {
            0.0
        }
    };
    let mut samples: Vec<([f64; 2], f64)> = (0..upper)
        .map(|i| ([angle(i, upper).cos(), angle(i, upper).sin()], 1.0))
        .chain((0..lower).map(|i| {
            (
                [1.0 - angle(i, lower).cos(), 0.5 - angle(i, lower).sin()],
                -1.0,
            )
        }))
        .collect();
    let noise = if noise.is_finite() { noise.abs() } else { 0.0 };
    for (point, _) in &mut samples {
        point[0] += noise * gaussian(rng);
        point[1] += noise * gaussian(rng);
    }
    // Fisher-Yates, so the order does not give the label away.
    for i in (1..samples.len()).rev() {
        samples.swap(i, rng.random_range(0..=i));
    }
    Moons {
        points: samples.iter().map(|s| s.0).collect(),
        labels: samples.iter().map(|s| s.1).collect(),
    }
}

/// A number drawn from the standard normal distribution (Box-Muller).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(9);
/// let xs: Vec<f64> = (0..20_000).map(|_| chainrule::data::standard_normal(&mut rng)).collect();
/// let mean = xs.iter().sum::<f64>() / xs.len() as f64;
/// let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
/// assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05);
/// ```
pub fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]: ln is finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
