//! Data sets for the examples: [`moons`] (micrograd's demo). Independent of
//! the engine: plain numbers in, plain numbers out.

mod moons;

pub use moons::gaussian as standard_normal;
pub use moons::{Moons, moons};
