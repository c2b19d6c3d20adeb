//! Charts as [`Svg`]: training curves, function plots, a decision boundary,
//! a confusion matrix and a grid of digits, for examples and notebooks.
//!
//! Drawn with `plotters`' SVG backend, which writes text as SVG `<text>`
//! and needs no system fonts. The charts show inline in evcxr when they are
//! the last expression of a cell, and [`Svg::save`] writes them to a file.
//! Non-finite points are left out rather than breaking the axes.
//!
//! ```
//! use chainrule::plot;
//!
//! let loss = [2.3, 1.1, 0.7, 0.5, 0.45];
//! let svg = plot::curves("training", "step", &[("loss", &loss)]).unwrap();
//! assert!(svg.contains("<svg") && svg.contains("training"));
//! ```
//!
//! This module is the `plot` feature (on by default); turn default features
//! off to build chainrule without `plotters`.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use thiserror::Error;

use crate::graph::Svg;

/// What went wrong drawing a chart.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlotError {
    /// `plotters` could not draw the chart.
    #[error("cannot draw the chart: {0}")]
    Drawing(String),
    /// The score function of [`decision_boundary`] returned an error.
    #[error("cannot score the point ({x}, {y}): {message}")]
    Score {
        /// The point's first coordinate.
        x: f64,
        /// Its second.
        y: f64,
        /// The score function's error.
        message: String,
    },
    /// An image given to [`digits`] is not 28 × 28 bytes.
    #[error("image {index} has {len} bytes; digits draws 28 x 28 = 784-byte images")]
    ImageSize {
        /// Position of the image in the list.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
}

/// What a score function of [`decision_boundary`] returns: a number, or a
/// `Result` whose first error stops the chart as [`PlotError::Score`]
/// (so a model that cannot score a point is reported, not drawn as 0).
pub trait Score {
    /// The number, or the error's message.
    fn score(self) -> Result<f64, String>;
}

impl Score for f64 {
    fn score(self) -> Result<f64, String> {
        Ok(self)
    }
}

impl<E: std::fmt::Display> Score for Result<f64, E> {
    fn score(self) -> Result<f64, String> {
        self.map_err(|e| e.to_string())
    }
}

fn drawing(error: impl std::fmt::Display) -> PlotError {
    PlotError::Drawing(error.to_string())
}

/// Draws on an SVG canvas of `size` pixels and returns the picture.
fn canvas(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), PlotError>,
) -> Result<Svg, PlotError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        draw(&root)?;
        root.present().map_err(drawing)?;
    }
    Ok(Svg::from(text))
}

const COLOURS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// A chart's axis labels and y scale. A `&str` is an x label alone, so
/// `curves("title", "epoch", …)` and
/// `curves("title", Axes::new("epoch", "loss").log_y(), …)` both work.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Axes {
    x: String,
    y: String,
    log_y: bool,
}

impl Axes {
    /// Labels for the x and y axes.
    pub fn new(x: &str, y: &str) -> Axes {
        Axes {
            x: x.to_owned(),
            y: y.to_owned(),
            log_y: false,
        }
    }

    /// A logarithmic y axis, for curves that span orders of magnitude (a
    /// diverging learning rate beside converging ones); points at or below
    /// 0 are left out.
    pub fn log_y(mut self) -> Axes {
        self.log_y = true;
        self
    }
}

impl From<&str> for Axes {
    fn from(x: &str) -> Axes {
        Axes::new(x, "")
    }
}

impl From<&Axes> for Axes {
    fn from(axes: &Axes) -> Axes {
        axes.clone()
    }
}

/// Curves over steps (x = 0, 1, 2, …), one colour each, on one chart.
///
/// ```
/// use chainrule::plot::{self, Axes};
/// let svg = plot::curves("training", Axes::new("epoch", "loss"), &[
///     ("loss", &[1.0, 0.5, 0.25]),
///     ("accuracy", &[0.5, 0.8, 0.9]),
/// ]).unwrap();
/// assert!(svg.contains("accuracy") && svg.contains("loss"));
/// ```
///
/// # Errors
///
/// [`PlotError::Drawing`] if `plotters` fails.
pub fn curves<S: AsRef<str>, Y: AsRef<[f64]>>(
    title: &str,
    axes: impl Into<Axes>,
    series: &[(S, Y)],
) -> Result<Svg, PlotError> {
    let points: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, ys)| {
            let points = ys.as_ref().iter().enumerate();
            (name.as_ref(), points.map(|(x, &y)| (x as f64, y)).collect())
        })
        .collect();
    lines(title, axes, &points)
}

/// Lines through `(x, y)` points, one colour each, on one chart; the y axis
/// includes 0 (unless it is logarithmic). When every x is a whole number
/// (steps, epochs) the x axis is labelled at whole numbers only; the
/// legend goes in the corner where the lines leave the most room.
///
/// ```
/// use chainrule::plot::{self, Axes};
/// let square: Vec<(f64, f64)> = (-10..=10).map(|i| i as f64 / 5.0).map(|x| (x, x * x)).collect();
/// let svg = plot::lines("x²", "x", &[("x²", &square)]).unwrap();
/// assert!(svg.contains("<polyline") || svg.contains("<path"));
/// // Rates that converge beside one that diverges, on a log scale.
/// let slow: Vec<(f64, f64)> = (0..10).map(|k| (k as f64, 0.9f64.powi(k))).collect();
/// let wild: Vec<(f64, f64)> = (0..10).map(|k| (k as f64, 1.1f64.powi(40 * k))).collect();
/// let svg = plot::lines("rates", Axes::new("step", "loss").log_y(), &[("0.1", &slow), ("1.05", &wild)]);
/// assert!(svg.unwrap().contains("loss"));
/// ```
///
/// # Errors
///
/// [`PlotError::Drawing`] if `plotters` fails.
pub fn lines<S: AsRef<str>, P: AsRef<[(f64, f64)]>>(
    title: &str,
    axes: impl Into<Axes>,
    series: &[(S, P)],
) -> Result<Svg, PlotError> {
    let axes = axes.into();
    // Logarithmic: plot log10(y) and label the ticks with y.
    let shown = |y: f64| {
        if axes.log_y {
            if y > 0.0 { y.log10() } else { f64::NAN }
        } else {
            y
        }
    };
    let series: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, points)| {
            let finite = points
                .as_ref()
                .iter()
                .map(|&(x, y)| (x, shown(y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            (name.as_ref(), finite)
        })
        .collect();
    let all = || series.iter().flat_map(|(_, ps)| ps.iter().copied());
    let (x0, x1) = range(all().map(|p| p.0));
    let zero = if axes.log_y { None } else { Some(0.0) };
    let (y0, y1) = range(all().map(|p| p.1).chain(zero));
    let (y0, y1) = (y0, y1 + 0.05 * (y1 - y0));
    let whole_x = all().all(|(x, _)| x.fract() == 0.0);
    let x_labels = if whole_x {
        ((x1 - x0).round() as usize + 1).clamp(2, 10)
    } else {
        10
    };
    let legend_at = emptiest_corner(all(), (x0, x1), (y0, y1));
    canvas((640, 400), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(if axes.y.is_empty() { 55 } else { 70 })
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(drawing)?;
        let x_format = |x: &f64| {
            if !whole_x || x.fract() == 0.0 {
                short(*x)
            } else {
                String::new()
            }
        };
        let y_format = |y: &f64| {
            if axes.log_y {
                short(10f64.powf(*y))
            } else {
                short(*y)
            }
        };
        let y_desc = if axes.log_y && !axes.y.is_empty() {
            format!("{} (log scale)", axes.y)
        } else {
            axes.y.clone()
        };
        chart
            .configure_mesh()
            .x_desc(axes.x.as_str())
            .y_desc(y_desc)
            .x_labels(x_labels)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .draw()
            .map_err(drawing)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(legend_at)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(drawing)?;
        }
        Ok(())
    })
}

/// A tick label: up to 4 significant digits, as the pictures write numbers.
fn short(x: f64) -> String {
    crate::graph::NumberFormat::Significant(4).format(x)
}

/// The corner of the plot whose third holds the fewest points: where the
/// legend hides the least.
fn emptiest_corner(
    points: impl Iterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> SeriesLabelPosition {
    // Upper right, upper left, lower right, lower left.
    let mut counts = [0usize; 4];
    for (x, y) in points {
        let (u, v) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
        let (left, right, low, high) = (u < 0.4, u > 0.6, v < 0.35, v > 0.65);
        for (k, inside) in [right && high, left && high, right && low, left && low]
            .into_iter()
            .enumerate()
        {
            counts[k] += usize::from(inside);
        }
    }
    match (0..4).min_by_key(|&k| counts[k]) {
        Some(1) => SeriesLabelPosition::UpperLeft,
        Some(2) => SeriesLabelPosition::LowerRight,
        Some(3) => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::UpperRight,
    }
}

/// The smallest and largest of `values`, widened when they are equal or
/// there are none, so an axis always has a length.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo < hi {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    }
}

/// A two-class decision boundary: the plane coloured by the sign of
/// `score(x, y)` (blue where positive, red otherwise), with the points on
/// top, blue for label > 0 and red otherwise. Points and labels pair up as
/// `zip` does. `score` returns a number or a `Result` (see [`Score`]).
///
/// ```
/// let points = [[0.0, 0.0], [1.0, 1.0]];
/// let svg = chainrule::plot::decision_boundary("x + y > 1", &points, &[-1.0, 1.0], |x, y| x + y - 1.0)
///     .unwrap();
/// assert!(svg.contains("<circle"));
///
/// // A model's prediction: its error is reported, not drawn.
/// use chainrule::nn::{Activation, Mlp};
/// use rand::SeedableRng;
/// let model = Mlp::new(&[3, 1], Activation::Relu, &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
/// let error = chainrule::plot::decision_boundary("3 inputs", &points, &[-1.0, 1.0], |x, y| {
///     model.predict(&[x, y]).map(|s| s[0])
/// });
/// assert!(error.unwrap_err().to_string().contains("input has 2 values but the network takes 3"));
/// ```
///
/// # Errors
///
/// [`PlotError::Score`] for the first point `score` fails on,
/// [`PlotError::Drawing`] if `plotters` fails.
pub fn decision_boundary<S: Score>(
    title: &str,
    points: &[[f64; 2]],
    labels: &[f64],
    score: impl Fn(f64, f64) -> S,
) -> Result<Svg, PlotError> {
    let padded = |(lo, hi): (f64, f64)| (lo - 0.25, hi + 0.25);
    let (x0, x1) = padded(range(points.iter().map(|p| p[0]).filter(|v| v.is_finite())));
    let (y0, y1) = padded(range(points.iter().map(|p| p[1]).filter(|v| v.is_finite())));
    // The sign on an 80 × 80 grid, column after column, scored before
    // anything is drawn so that the first error is reported.
    const CELLS: usize = 80;
    let (dx, dy) = ((x1 - x0) / CELLS as f64, (y1 - y0) / CELLS as f64);
    let mut signs = Vec::with_capacity(CELLS * CELLS);
    for i in 0..CELLS {
        for j in 0..CELLS {
            let (x, y) = (x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy);
            let value =
                score(x, y)
                    .score()
                    .map_err(|message| PlotError::Score { x, y, message })?;
            signs.push(value > 0.0);
        }
    }
    canvas((560, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .draw()
            .map_err(drawing)?;
        // One rectangle per run of cells of one colour in a column: the
        // picture is the same, the file a tenth of the size.
        let mut runs = Vec::new();
        for i in 0..CELLS {
            let x = x0 + i as f64 * dx;
            let positive = |j: usize| signs[i * CELLS + j];
            let mut start = 0;
            let mut sign = positive(0);
            for j in 1..=CELLS {
                let next = j < CELLS && positive(j);
                if j == CELLS || next != sign {
                    runs.push((x, y0 + start as f64 * dy, y0 + j as f64 * dy, sign));
                    start = j;
                    sign = next;
                }
            }
        }
        chart
            .draw_series(runs.into_iter().map(|(x, from, to, positive)| {
                let colour = if positive {
                    RGBColor(198, 219, 239)
                } else {
                    RGBColor(252, 208, 200)
                };
                Rectangle::new([(x, from), (x + dx, to)], colour.filled())
            }))
            .map_err(drawing)?;
        // The points of each class, with the class key.
        for (positive, colour, name) in [
            (true, COLOURS[1], "class +1 (blue region: score > 0)"),
            (
                false,
                COLOURS[0],
                "class \u{2212}1 (red region: score \u{2264} 0)",
            ),
        ] {
            chart
                .draw_series(
                    points
                        .iter()
                        .zip(labels)
                        .filter(|&(_, &l)| (l > 0.0) == positive)
                        .map(|(p, _)| Circle::new((p[0], p[1]), 4, colour.filled())),
                )
                .map_err(drawing)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        let key_at = emptiest_corner(points.iter().map(|p| (p[0], p[1])), (x0, x1), (y0, y1));
        chart
            .configure_series_labels()
            .position(key_at)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(drawing)?;
        Ok(())
    })
}

/// A confusion matrix: `matrix[t][p]` counts the samples of true class `t`
/// predicted as `p`; the diagonal is green, mistakes red, darker for more.
///
/// ```
/// let matrix = [[5, 1], [0, 4]];
/// let svg = chainrule::plot::confusion(&matrix).unwrap();
/// let texts: Vec<&str> = svg.lines().map(str::trim).collect();
/// assert!(texts.contains(&"5") && texts.contains(&"4"));
/// ```
///
/// # Errors
///
/// [`PlotError::Drawing`] if `plotters` fails.
pub fn confusion<R: AsRef<[usize]>>(matrix: &[R]) -> Result<Svg, PlotError> {
    let n = matrix
        .iter()
        .map(|row| row.as_ref().len())
        .chain([matrix.len(), 1])
        .max()
        .unwrap_or(1) as i32;
    let most = matrix
        .iter()
        .flat_map(|row| row.as_ref().iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    canvas((520, 520), |root| {
        // One spare row and column for the class labels; no axes.
        let size = f64::from(n);
        let mut chart = ChartBuilder::on(root)
            .caption(
                "confusion matrix (rows: true, columns: predicted)",
                ("sans-serif", 16),
            )
            .margin(10)
            .build_cartesian_2d(-1.0..size, -1.0..size)
            .map_err(drawing)?;
        let centred = |size: u32| {
            TextStyle::from(("sans-serif", size).into_font())
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        let top = |row: usize| size - row as f64; // rows run down from the top
        for class in 0..n as usize {
            let label = class.to_string();
            let at_left = Text::new(label.clone(), (-0.5, top(class) - 0.5), centred(13));
            let below = Text::new(label, (class as f64 + 0.5, -0.5), centred(13));
            chart.draw_series([at_left, below]).map_err(drawing)?;
        }
        for (t, row) in matrix.iter().enumerate() {
            for (p, &count) in row.as_ref().iter().enumerate() {
                let shade = (255.0 * (1.0 - (count as f64 / most).sqrt())) as u8;
                let colour = if t == p {
                    RGBColor(shade, 255, shade)
                } else {
                    RGBColor(255, shade, shade)
                };
                let (x, y) = (p as f64, top(t) - 1.0);
                let cell = Rectangle::new([(x, y), (x + 1.0, y + 1.0)], colour.filled());
                chart.draw_series([cell]).map_err(drawing)?;
                let text = Text::new(count.to_string(), (x + 0.5, y + 0.5), centred(12));
                chart.draw_series([text]).map_err(drawing)?;
            }
        }
        Ok(())
    })
}

/// A grid of 28 × 28 greyscale digits (bytes, 0 = white), ten to a row,
/// each with its caption above it in red (say "7→1" for a 7 read as 1).
///
/// ```
/// let blank = [0u8; 784];
/// let mut bar = [0u8; 784];
/// bar[14 * 28..15 * 28].fill(255);
/// let svg = chainrule::plot::digits("two images", &[(&blank, "blank"), (&bar, "bar")]).unwrap();
/// assert!(svg.contains("blank") && svg.contains("<rect"));
/// ```
///
/// # Errors
///
/// [`PlotError::ImageSize`] for an image that is not 784 bytes;
/// [`PlotError::Drawing`] if `plotters` fails.
pub fn digits(title: &str, images: &[(&[u8], &str)]) -> Result<Svg, PlotError> {
    const SIDE: usize = 28;
    if let Some((index, (image, _))) = images
        .iter()
        .enumerate()
        .find(|(_, (image, _))| image.len() != SIDE * SIDE)
    {
        return Err(PlotError::ImageSize {
            index,
            len: image.len(),
        });
    }
    // Each cell: a caption line, then the 39 px digit, then a gap, so a
    // caption never touches the digit above it.
    let (per_row, cell, row_height, scale) = (10, 44, 58, 1.4);
    let rows = images.len().div_ceil(per_row).max(1);
    let size = ((per_row * cell) as u32, (rows * row_height + 24) as u32);
    canvas(size, |root| {
        root.draw(&Text::new(title, (4, 4), ("sans-serif", 14)))
            .map_err(drawing)?;
        for (k, (image, caption)) in images.iter().enumerate() {
            let (ox, oy) = (
                (k % per_row * cell) as i32,
                (k / per_row * row_height + 24) as i32,
            );
            // One rectangle per run of equal shade along a row, in 16
            // shades of grey: a tenth of the squares, the same picture.
            for (row, pixels) in image.chunks(SIDE).enumerate() {
                let shade = |v: u8| 255 - (v / 16) * 17;
                let mut start = 0;
                for end in 1..=SIDE {
                    if end < SIDE && shade(pixels[end]) == shade(pixels[start]) {
                        continue;
                    }
                    let grey = shade(pixels[start]);
                    if grey < 255 {
                        let (x0, x1) = (start as f64 * scale, end as f64 * scale);
                        let y = row as f64 * scale + 14.0;
                        let run = Rectangle::new(
                            [
                                (ox + x0 as i32, oy + y as i32),
                                (ox + x1.ceil() as i32, oy + (y + scale).ceil() as i32),
                            ],
                            RGBColor(grey, grey, grey).filled(),
                        );
                        root.draw(&run).map_err(drawing)?;
                    }
                    start = end;
                }
            }
            let font = ("sans-serif", 11).into_font().color(&COLOURS[0]);
            root.draw(&Text::new(*caption, (ox + 4, oy), font))
                .map_err(drawing)?;
        }
        Ok(())
    })
}
