//! What the examples share: where to write pictures, writing them, plots
//! and progress. Each example uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chainrule::Value;
use chainrule::graph::{DotOptions, Style, graphviz_installed};

/// The value after `--name` on the command line, parsed, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => match args.get(i + 1).map(|v| v.parse()) {
            Some(Ok(value)) => value,
            _ => fail(&format!("{name} needs a value, as in {name} {}", "<value>")),
        },
    }
}

/// Progress over `steps` steps: a bar on a terminal, plain lines otherwise
/// (indicatif draws nothing when stderr is not a terminal).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(steps: u64) -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(steps);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar }
    }

    /// Reports one step: a bar update, or a printed line.
    pub fn step(&self, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(line.to_string());
                bar.inc(1);
            }
            None => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Writes a plot to `path`, or stops saying why it could not.
pub fn save_plot(path: &Path, plot: Result<chainrule::Svg, chainrule::plot::PlotError>) {
    let written = plot
        .map_err(|e| e.to_string())
        .and_then(|svg| svg.save(path).map_err(|e| e.to_string()));
    if let Err(error) = written {
        fail(&format!("cannot draw {}: {error}", path.display()));
    }
}

/// The folder given by `--out DIR` (default `./chainrule-out`), created.
pub fn out_dir() -> PathBuf {
    let args: Vec<String> = std::env::args().collect();
    let dir = match args.iter().position(|a| a == "--out") {
        Some(i) => match args.get(i + 1) {
            Some(dir) => PathBuf::from(dir),
            None => fail("--out needs a folder, as in --out pictures/"),
        },
        None => PathBuf::from("chainrule-out"),
    };
    if let Err(error) = std::fs::create_dir_all(&dir) {
        fail(&format!("cannot create {}: {error}", dir.display()));
    }
    dir
}

pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}

/// Writes `value`'s graph as DOT and SVG in both styles, as
/// `DIR/NAME-nodes.{dot,svg}` and `DIR/NAME-lecture.{dot,svg}`, with
/// `options` for anything but the style.
pub fn draw(dir: &Path, name: &str, value: &Value, options: &DotOptions) {
    let graph = value.graph();
    for style in [Style::Nodes, Style::Lecture] {
        let options = options.clone().style(style);
        let suffix = match style {
            Style::Nodes => "nodes",
            Style::Lecture => "lecture",
        };
        let dot = graph
            .to_dot(&options)
            .unwrap_or_else(|e| fail(&e.to_string()));
        let svg = graph
            .to_svg(&options)
            .unwrap_or_else(|e| fail(&e.to_string()));
        for (extension, contents) in [("dot", dot), ("svg", svg.into_string())] {
            let path = dir.join(format!("{name}-{suffix}.{extension}"));
            if let Err(error) = std::fs::write(&path, contents) {
                fail(&format!("cannot write {}: {error}", path.display()));
            }
        }
    }
}

/// Says where the pictures went and which renderer drew them.
pub fn report(dir: &Path) {
    let renderer = if graphviz_installed() {
        "Graphviz"
    } else {
        "the pure-Rust renderer (install Graphviz for nicer layouts)"
    };
    println!(
        "\nPictures (DOT and SVG, drawn by {renderer}) are in {}/",
        dir.display()
    );
}
