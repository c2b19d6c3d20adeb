//! Plots for the examples, as SVG (plotters, no system fonts needed).

use std::path::Path;

use plotters::prelude::*;

/// Curves over steps, one colour each, on one chart; written to `path`.
pub fn curves(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[(&str, &[f64])],
) -> Result<(), String> {
    let points: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, ys)| {
            (
                *name,
                ys.iter().enumerate().map(|(x, &y)| (x as f64, y)).collect(),
            )
        })
        .collect();
    lines(path, title, x_label, &points)
}

/// Lines through `(x, y)` points, one colour each, on one chart.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let all = || {
        series
            .iter()
            .flat_map(|(_, ps)| ps.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (x0, x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
        (lo.min(x), hi.max(x))
    });
    let (y0, y1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, y)| {
        (lo.min(y), hi.max(y))
    });
    let (x0, x1) = if x0 < x1 { (x0, x1) } else { (0.0, 1.0) };
    let (y0, y1) = if y0 < y1 {
        (y0.min(0.0), y1 + 0.05 * (y1 - y0.min(0.0)))
    } else {
        (0.0, 1.0)
    };
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .draw()
        .map_err(|x| e(&x))?;
    let colours = [RED, BLUE, GREEN, MAGENTA];
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))
}

/// A two-class decision boundary: `score(x, y)` coloured over the plane
/// (blue where positive, red where negative), with the labelled points.
pub fn decision_boundary(
    path: &Path,
    title: &str,
    points: &[[f64; 2]],
    labels: &[f64],
    score: impl Fn(f64, f64) -> f64,
) -> Result<(), String> {
    let (x0, x1) = span(points.iter().map(|p| p[0]));
    let (y0, y1) = span(points.iter().map(|p| p[1]));
    let root = SVGBackend::new(path, (560, 480)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(|x| e(&x))?;
    const CELLS: usize = 80;
    let (dx, dy) = ((x1 - x0) / CELLS as f64, (y1 - y0) / CELLS as f64);
    let cells = (0..CELLS).flat_map(|i| (0..CELLS).map(move |j| (i, j)));
    chart
        .draw_series(cells.map(|(i, j)| {
            let (x, y) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
            let colour = if score(x + dx / 2.0, y + dy / 2.0) > 0.0 {
                RGBColor(198, 219, 239)
            } else {
                RGBColor(252, 208, 200)
            };
            Rectangle::new([(x, y), (x + dx, y + dy)], colour.filled())
        }))
        .map_err(|x| e(&x))?;
    chart
        .draw_series(points.iter().zip(labels).map(|(p, &l)| {
            let colour = if l > 0.0 { BLUE } else { RED };
            Circle::new((p[0], p[1]), 4, colour.filled())
        }))
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo < hi {
        (lo - 0.25, hi + 0.25)
    } else {
        (-1.0, 1.0)
    }
}
