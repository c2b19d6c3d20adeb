//! Charts: well-formed SVG that shows what it was given.
#![cfg(feature = "plot")]

use chainrule::plot::{self, PlotError};

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).expect("the chart is well-formed XML")
}

fn texts(svg: &str) -> Vec<String> {
    parse(svg)
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .collect()
}

#[test]
fn curves_show_title_axis_and_legend() {
    let loss = [2.0, 1.0, 0.5];
    let accuracy = [0.3, 0.6, 0.9];
    let svg = plot::curves(
        "training",
        "step",
        &[("loss", &loss), ("accuracy", &accuracy)],
    )
    .unwrap();
    let texts = texts(&svg);
    for expected in ["training", "step", "loss", "accuracy"] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected} missing in {texts:?}"
        );
    }
}

#[test]
fn non_finite_points_and_empty_input_do_not_break_a_chart() {
    let wild = [1.0, f64::NAN, f64::INFINITY, 0.5, f64::NEG_INFINITY];
    parse(&plot::curves("wild", "step", &[("loss", &wild)]).unwrap());
    let none: [(&str, &[f64]); 0] = [];
    parse(&plot::curves("nothing", "step", &none).unwrap());
    parse(&plot::curves("empty", "step", &[("loss", &[] as &[f64])]).unwrap());
    parse(&plot::lines("one point", "x", &[("p", &[(3.0, 3.0)])]).unwrap());
    parse(&plot::decision_boundary("no points", &[], &[], |x, _| x).unwrap());
    parse(&plot::confusion::<[usize; 0]>(&[]).unwrap());
}

#[test]
fn decision_boundary_colours_the_plane_by_the_sign_of_the_score() {
    // x + y > 1 over the square [-0.25, 1.25]²: half the plane is positive.
    let points = [[0.0, 0.0], [1.0, 1.0]];
    let svg =
        plot::decision_boundary("x + y > 1", &points, &[-1.0, 1.0], |x, y| x + y - 1.0).unwrap();
    let doc = parse(&svg);
    let area = |fill: &str| -> f64 {
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| {
                n.attribute("fill")
                    .is_some_and(|f| f.eq_ignore_ascii_case(fill))
            })
            .map(|n| {
                let get = |a: &str| {
                    n.attribute(a)
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                get("width") * get("height")
            })
            .sum()
    };
    let (blue, red) = (area("#C6DBEF"), area("#FCD0C8"));
    assert!(blue > 0.0 && red > 0.0);
    // The line x + y = 1 cuts the square in half.
    assert!(
        (blue / (blue + red) - 0.5).abs() < 0.03,
        "blue {blue}, red {red}"
    );
    // The two points, and the class key's two marks with its words.
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        4
    );
    assert!(svg.contains("class +1") && svg.contains("class \u{2212}1"));
}

#[test]
fn confusion_writes_every_count_in_its_cell() {
    let matrix = [[7, 2, 0], [1, 9, 0], [0, 3, 11]];
    let texts = texts(&plot::confusion(&matrix).unwrap());
    for count in ["7", "2", "1", "9", "3", "11"] {
        assert!(
            texts.iter().any(|t| t == count),
            "{count} missing in {texts:?}"
        );
    }
}

#[test]
fn digits_draws_each_image_with_its_caption_and_rejects_wrong_sizes() {
    let mut bar = [0u8; 784];
    bar[14 * 28..15 * 28].fill(255); // one black row
    let blank = [0u8; 784];
    let svg = plot::digits("two", &[(&bar, "bar"), (&blank, "blank")]).unwrap();
    let texts = texts(&svg);
    assert!(texts.iter().any(|t| t == "bar") && texts.iter().any(|t| t == "blank"));
    let doc = parse(&svg);
    let black: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#000000"))
        .collect();
    // The row is one run, as wide as 28 pixels drawn 1.4 wide.
    assert_eq!(black.len(), 1);
    let width: f64 = black[0].attribute("width").unwrap().parse().unwrap();
    assert!((width - 28.0 * 1.4).abs() <= 1.0, "{width}");

    let short = [0u8; 100];
    let error = plot::digits("bad", &[(&bar, "ok"), (&short, "short")]).unwrap_err();
    assert_eq!(error, PlotError::ImageSize { index: 1, len: 100 });
    assert!(error.to_string().contains("784"));
}
