//! Data sets for the examples: [`moons()`] (micrograd's demo) and [`mnist`]
//! (handwritten digits). Independent of the engine: plain numbers in, plain
//! numbers out.

pub mod mnist;
mod moons;

pub use moons::gaussian as standard_normal;
pub use moons::{Moons, moons};
