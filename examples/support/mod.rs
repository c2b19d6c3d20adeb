//! What the examples share: where to write pictures, writing them, plots
//! and progress. Each example uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chainrule::Value;
use chainrule::graph::{DotOptions, ExplorerOptions, Language, Style, graphviz_installed};

/// The command line's `--flag value` pairs, checked when read: every flag
/// is one the example knows and has a value, and every number is in the
/// range the example can use. Anything else stops the example with a
/// message that says what is accepted (exit code 2). `--help` (or `-h`)
/// prints the flags and exits 0. Values are read as the system gives them
/// (`args_os`), so a path need not be UTF-8.
pub struct Flags {
    pairs: Vec<(String, std::ffi::OsString)>,
}

impl Flags {
    /// The flags after the program name and `skip` leading words (a
    /// subcommand), each one of `known`.
    pub fn parse(skip: usize, known: &[&str]) -> Flags {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1 + skip).collect();
        if args.iter().any(|a| a == "--help" || a == "-h") {
            let program = std::env::args_os()
                .next()
                .map(|p| {
                    Path::new(&p)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            println!(
                "usage: {program} {}",
                known
                    .iter()
                    .map(|flag| format!("[{flag} VALUE]"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            println!("See the example's first lines (examples/*.rs) for what each flag does.");
            std::process::exit(0);
        }
        let mut pairs = Vec::new();
        let mut words = args.into_iter();
        while let Some(flag) = words.next() {
            let Some(flag) = flag.to_str().filter(|f| known.contains(f)) else {
                fail(&format!(
                    "unknown argument {flag:?}; this example takes {} (and --help)",
                    known.join(", ")
                ))
            };
            match words.next() {
                Some(value) if !value.to_str().is_some_and(|v| known.contains(&v)) => {
                    pairs.push((flag.to_owned(), value))
                }
                _ => fail(&format!("{flag} needs a value, as in {flag} <value>")),
            }
        }
        Flags { pairs }
    }

    /// The value given for `name`, if any (the last one, if given twice),
    /// as the system gave it.
    fn get_os(&self, name: &str) -> Option<&std::ffi::OsStr> {
        self.pairs
            .iter()
            .rev()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| value.as_os_str())
    }

    /// The value given for `name` as text; a value that is not UTF-8
    /// stops the example.
    fn get(&self, name: &str) -> Option<&str> {
        self.get_os(name).map(|value| {
            value.to_str().unwrap_or_else(|| {
                fail(&format!(
                    "{name} {value:?} is not accepted: it is not valid text"
                ))
            })
        })
    }

    /// A path flag, or `default`: any bytes the system allows.
    pub fn path(&self, name: &str, default: &str) -> PathBuf {
        self.get_os(name)
            .map_or_else(|| PathBuf::from(default), PathBuf::from)
    }

    /// A text flag, or `default`.
    pub fn text(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }

    /// A whole number from `min` to `max`, or `default`.
    pub fn count(&self, name: &str, default: usize, min: usize, max: usize) -> usize {
        match self.get(name) {
            None => default,
            Some(text) => whole(name, text, min, max),
        }
    }

    /// A seed: any whole number from 0 to 2^64 - 1, or `default`.
    pub fn seed(&self, name: &str, default: u64) -> u64 {
        let Some(text) = self.get(name) else {
            return default;
        };
        text.parse().unwrap_or_else(|_| {
            fail(&format!(
                "{name} {text:?} is not accepted: give a whole number from 0 to {}",
                u64::MAX
            ))
        })
    }

    /// A finite number greater than 0, or `default`.
    pub fn positive(&self, name: &str, default: f64) -> f64 {
        self.real(name, default, |x| x > 0.0, "a finite number greater than 0")
    }

    /// A finite number of at least 0, or `default`.
    pub fn non_negative(&self, name: &str, default: f64) -> f64 {
        self.real(name, default, |x| x >= 0.0, "a finite number of at least 0")
    }

    fn real(&self, name: &str, default: f64, accept: fn(f64) -> bool, what: &str) -> f64 {
        let Some(text) = self.get(name) else {
            return default;
        };
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() && accept(x) => x,
            _ => fail(&format!("{name} {text:?} is not accepted: give {what}")),
        }
    }

    /// The language given by `--lang ko|en` (default Korean, the
    /// lecture's).
    pub fn language(&self) -> Language {
        match self.get("--lang") {
            None | Some("ko") => Language::Korean,
            Some("en") => Language::English,
            Some(other) => fail(&format!(
                "--lang {other:?} is not accepted: give ko (한국어) or en (English)"
            )),
        }
    }

    /// `--engine tape|graph`: replay a recorded step (the default) or
    /// build the graph at every step.
    pub fn taped(&self) -> bool {
        match self.text("--engine", "tape").as_str() {
            "tape" => true,
            "graph" => false,
            other => fail(&format!(
                "--engine {other:?}: use tape (record once, replay) or graph (build every step)"
            )),
        }
    }

    /// The folder given by `--out DIR` (default `./chainrule-out`), created.
    pub fn out_dir(&self) -> PathBuf {
        let dir = self.path("--out", "chainrule-out");
        if let Err(error) = std::fs::create_dir_all(&dir) {
            fail(&format!("cannot create {}: {error}", dir.display()));
        }
        dir
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

/// `text` as a whole number from `min` to `max`, or stop saying so.
pub fn whole(name: &str, text: &str, min: usize, max: usize) -> usize {
    match text.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => n,
        _ => fail(&format!(
            "{name} {text:?} is not accepted: give a whole number from {min} to {max}"
        )),
    }
}

/// Stops the example: the message on stderr, exit code 2.
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}

/// Writes `value`'s graph as DOT and SVG in both styles, as
/// `DIR/NAME-nodes.{dot,svg}` and `DIR/NAME-lecture.{dot,svg}`, with
/// `options` for anything but the style, and its explorer (step through
/// forward and backward in a browser) as `DIR/NAME-explorer.html`.
pub fn draw(dir: &Path, name: &str, value: &Value, options: &DotOptions) {
    draw_explored(dir, name, value, options, ExplorerOptions::new());
}

/// As [`draw`], with the explorer's own options (language, a learning
/// rate and its parameters); its picture takes `options` in the lecture
/// style.
pub fn draw_explored(
    dir: &Path,
    name: &str,
    value: &Value,
    options: &DotOptions,
    explorer: ExplorerOptions,
) {
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
    let explorer = explorer.picture(options.clone().style(Style::Lecture));
    let path = dir.join(format!("{name}-explorer.html"));
    graph
        .explorer(&explorer)
        .map_err(|e| e.to_string())
        .and_then(|html| html.save(&path).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}

/// Says where the pictures went and which renderer drew them.
pub fn report(dir: &Path) {
    let renderer = if graphviz_installed() {
        "Graphviz; grouped ones by chainrule's layout"
    } else {
        "chainrule's pure-Rust renderer"
    };
    println!(
        "\nPictures (DOT and SVG, drawn by {renderer}) are in {}/,\n\
         with an explorer of each (*-explorer.html): open one in a browser to step through backprop",
        dir.display()
    );
}
