//! # chainrule
//!
//! A scalar reverse-mode automatic differentiation engine, built to teach
//! backpropagation: every number is a [`Value`], every operation records a
//! node, and [`Value::backward`] walks the graph once, applying the chain
//! rule gate by gate. In the spirit of Andrej Karpathy's micrograd, but fast
//! (millions of nodes a second; an MNIST training step within a few times a
//! dense loop's time) and sturdy (no stack overflow on graphs ten million
//! nodes deep, no panics on NaN or infinity).
//!
//! ```
//! use chainrule::Value;
//!
//! let a = Value::new(2.0).with_label("a");
//! let b = Value::new(-3.0).with_label("b");
//! let c = (&a * &b + 10.0).relu().exp().ln(); // ln(e^relu(4)) = 4
//! c.backward();
//! assert!((c.data() - 4.0).abs() < 1e-12);
//! assert!((a.grad() - -3.0).abs() < 1e-12); // dc/da = b
//! println!("{c}");                          // Value(data=4.0000, grad=1.0000)
//! ```
//!
//! ## The gates
//!
//! Primitive operations are gates with a forward and a local gradient rule
//! ([`Op`]): add passes the upstream gradient through, mul swaps its inputs,
//! max routes it to the larger input; exp, ln and pow (constant exponent);
//! and the fused n-ary [`Value::sum`] and [`Value::dot`]. Subtraction,
//! division, negation, [`Value::relu`], [`Value::sigmoid`] and
//! [`Value::tanh`] are compositions of them.
//!
//! ## Record once, replay
//!
//! A training step builds the same graph every time with new numbers. A
//! [`Tape`] records a graph once and replays it: [`Tape::forward`] from the
//! leaves' current data, [`Tape::backward`] into their gradients, bit for
//! bit what building the graph again and calling `backward` gives, without
//! building a node ([`nn::Mlp::record_step`] does it for a network; the
//! guide's chapter 8 is the lesson of define-by-run and define-and-run).
//!
//! ## Networks, losses, pictures
//!
//! [`nn`] builds neurons, layers and MLPs from `Value`s, [`loss`] the
//! lecture's losses and [`optim`] SGD and Adam. [`graph`] draws any graph
//! in micrograd's or the lecture's style, and [`plot`] draws training
//! curves, decision boundaries and confusion matrices; both give an
//! [`Svg`] that shows inline in an evcxr notebook. [`Value::explorer`]
//! steps through the forward and backward passes on the picture, one node
//! at a time, in an [`Html`] page (the steps themselves:
//! [`Value::backward_trace`]).
//!
//! ## Checking gradients
//!
//! [`check`] computes the lecture's numerical gradient (central differences)
//! and compares backprop against it, like `torch.autograd.gradcheck`.
//!
//! ## Learning the lecture
//!
//! The [`guide`] walks the lecture's path chapter by chapter, from the
//! apple-shopping graph to an MLP on MNIST; every code block in it is a
//! test. The same path runs as evcxr notebooks in `docs/notebooks/`.
//!
//! ## When values go bad
//!
//! Values follow IEEE arithmetic (`ln 0 = -inf`, `ln -1 = NaN`) and nothing
//! panics; [`Value::find_anomaly`] finds the node where a NaN or infinity
//! first appeared.
#![warn(missing_docs)]

pub mod check;
pub mod data;
mod draw;
pub mod engine;
pub mod graph;
pub mod guide;
pub mod loss;
pub mod nn;
pub mod optim;
#[cfg(feature = "plot")]
pub mod plot;

pub use engine::{Anomaly, AnomalyKind, EngineError, Op, Tape, Value, grad, no_grad};
pub use graph::{Html, Svg};
