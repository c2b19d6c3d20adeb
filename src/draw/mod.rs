//! Drawing a [`Graph`](crate::graph::Graph): everything between a
//! snapshot and what a student sees. Private; its public items are
//! re-exported from [`crate::graph`], their one path.
//!
//! - [`gate`]: how each node is presented (its gate, symbol, words, rule,
//!   and the name it goes by), decided once for pictures and sentences;
//! - [`drawing`]: what a picture shows (shapes with typed roles, arrows,
//!   clusters, neuron boxes), before any program lays it out;
//! - [`dot`]: the picture's options and the DOT writer (Graphviz);
//! - [`layout`] and [`render`]: the pure-Rust layered layout and SVG
//!   writer; [`svg`]: choosing a renderer and running Graphviz;
//! - [`explorer`] (with `explorer.css` and `explorer.js`, included at
//!   compile time): the step-by-step page;
//! - [`picture`] and [`notebook`]: the `Svg` and `Html` results and their
//!   display in evcxr notebooks.

pub(crate) mod dot;
pub(crate) mod drawing;
pub(crate) mod explorer;
pub(crate) mod gate;
pub(crate) mod layout;
pub(crate) mod notebook;
pub(crate) mod picture;
pub(crate) mod render;
pub(crate) mod svg;
