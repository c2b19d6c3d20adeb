//! Gradients as values (`chainrule::grad`): higher derivatives against
//! closed forms, Hessians against central differences of the gradient,
//! `gradcheck` of the gradient itself; a value exponent (`Value::pow`) and
//! its edges; `no_grad` and `detach`; exact accumulation across passes.
//! (The random-graph properties are in `tests/gradcheck.rs`.)

use chainrule::check::{gradcheck, numerical_gradient};
use chainrule::{Value, grad, no_grad};

/// d y / d x as a value.
fn d(y: &Value, x: &Value) -> Value {
    grad(y, std::slice::from_ref(x)).remove(0)
}

/// Derivatives 0..=n of `f` at `x0`, each by differentiating the last.
fn derivatives(f: impl Fn(&Value) -> Value, x0: f64, n: usize) -> Vec<f64> {
    let x = Value::new(x0);
    let mut y = f(&x);
    let mut out = vec![y.data()];
    for _ in 0..n {
        y = d(&y, &x);
        out.push(y.data());
    }
    assert_eq!(x.grad(), 0.0, "grad must not touch .grad()");
    out
}

mod common;
use common::close;

fn assert_all_close(got: &[f64], want: &[f64], rel: f64, what: &str) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            close(*g, *w, rel),
            "{what}: derivative {k} is {g}, want {w}"
        );
    }
}

#[test]
fn powers_by_pow_and_by_mul() {
    for x in [-1.5f64, -0.3, 0.7, 2.0] {
        let want = [
            x.powi(4),
            4.0 * x.powi(3),
            12.0 * x * x,
            24.0 * x,
            24.0,
            0.0,
        ];
        assert_all_close(&derivatives(|x| x.powf(4.0), x, 5), &want, 1e-13, "powf(4)");
        assert_all_close(
            &derivatives(|x| x * x * x * x, x, 5),
            &want,
            1e-13,
            "x·x·x·x",
        );
    }
}

#[test]
fn sigmoid_and_tanh_second_derivatives() {
    for x in [-3.0f64, -0.5, 0.0, 0.8, 2.5] {
        let s = 1.0 / (1.0 + f64::exp(-x));
        let want = [s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s)];
        assert_all_close(&derivatives(Value::sigmoid, x, 2), &want, 1e-12, "sigmoid");
        let t = x.tanh();
        let want = [t, 1.0 - t * t, -2.0 * t * (1.0 - t * t)];
        assert_all_close(&derivatives(Value::tanh, x, 2), &want, 1e-12, "tanh");
    }
}

#[test]
fn ln_and_exp_to_the_third_derivative() {
    for x in [0.2f64, 1.0, 3.5] {
        let want = [x.ln(), 1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x)];
        assert_all_close(&derivatives(Value::ln, x, 3), &want, 1e-13, "ln");
    }
    for x in [-2.0f64, 0.0, 1.5] {
        assert_all_close(&derivatives(Value::exp, x, 3), &[x.exp(); 4], 1e-14, "exp");
    }
}

#[test]
fn value_exponent_first_and_second_partials() {
    for (a0, b0) in [(2.0, 3.0), (0.5, -1.5), (3.0, 0.5)] {
        let (a, b) = (Value::new(a0), Value::new(b0));
        let z = a.pow(&b);
        let [da, db] = grad(&z, &[a.clone(), b.clone()]).try_into().unwrap();
        let ln = f64::ln(a0);
        let p = a0.powf(b0);
        assert!(close(da.data(), b0 * a0.powf(b0 - 1.0), 1e-13));
        assert!(close(db.data(), p * ln, 1e-13));
        let [daa, dab] = grad(&da, &[a.clone(), b.clone()]).try_into().unwrap();
        let [dba, dbb] = grad(&db, &[a.clone(), b.clone()]).try_into().unwrap();
        assert!(close(
            daa.data(),
            b0 * (b0 - 1.0) * a0.powf(b0 - 2.0),
            1e-12
        ));
        assert!(close(dbb.data(), p * ln * ln, 1e-12));
        let mixed = a0.powf(b0 - 1.0) * (1.0 + b0 * ln);
        assert!(close(dab.data(), mixed, 1e-12), "{} vs {mixed}", dab.data());
        assert!(close(dba.data(), mixed, 1e-12), "{} vs {mixed}", dba.data());
    }
}

/// The Hessian of `f` at `at`, by `grad` twice.
fn hessian(f: &dyn Fn(&[Value]) -> Value, at: &[f64]) -> Vec<Vec<f64>> {
    let xs: Vec<Value> = at.iter().map(|&v| Value::new(v)).collect();
    let gradient = grad(&f(&xs), &xs);
    gradient
        .iter()
        .map(|g| grad(g, &xs).iter().map(Value::data).collect())
        .collect()
}

/// Row `i` of the Hessian by central differences of `grad`'s i-th
/// derivative.
fn hessian_row_numerically(f: &dyn Fn(&[Value]) -> Value, at: &[f64], i: usize) -> Vec<f64> {
    numerical_gradient(|v: &[Value]| grad(&f(v), v).remove(i), at, 1e-5).unwrap()
}

#[test]
fn hessians_match_central_differences_of_the_gradient() {
    type F = Box<dyn Fn(&[Value]) -> Value>;
    let cases: Vec<(&str, F, Vec<f64>)> = vec![
        (
            "x² y + e^(x y)",
            Box::new(|v: &[Value]| &v[0] * &v[0] * &v[1] + (&v[0] * &v[1]).exp()),
            vec![0.7, -0.4],
        ),
        (
            "Rosenbrock (1 - x)² + 100 (y - x²)²",
            Box::new(|v: &[Value]| {
                (1.0 - &v[0]).powf(2.0) + 100.0 * (&v[1] - &v[0] * &v[0]).powf(2.0)
            }),
            vec![-1.2, 1.0],
        ),
        (
            "x y z + ln(x² + y² + 1) + z³ / (1 + x²) + tanh(y z)",
            Box::new(|v: &[Value]| {
                let (x, y, z) = (&v[0], &v[1], &v[2]);
                x * y * z
                    + (x * x + y * y + 1.0).ln()
                    + z.powf(3.0) / (x * x + 1.0)
                    + (y * z).tanh()
            }),
            vec![0.3, -1.1, 0.8],
        ),
    ];
    for (name, f, at) in &cases {
        let h = hessian(f.as_ref(), at);
        for (i, row) in h.iter().enumerate() {
            let numeric = hessian_row_numerically(f.as_ref(), at, i);
            for (j, (&analytic, &numeric)) in row.iter().zip(&numeric).enumerate() {
                assert!(
                    close(analytic, numeric, 1e-6),
                    "{name}: H[{i}][{j}] = {analytic} but central differences give {numeric}"
                );
                assert!(close(analytic, h[j][i], 1e-12), "{name}: H not symmetric");
            }
        }
    }
    // The Rosenbrock Hessian in closed form at (-1.2, 1).
    let (x, y) = (-1.2f64, 1.0f64);
    let h = hessian(cases[1].1.as_ref(), &[x, y]);
    let want = [
        [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x],
        [-400.0 * x, 200.0],
    ];
    for (got, want) in h.iter().flatten().zip(want.iter().flatten()) {
        assert!(close(*got, *want, 1e-13), "{got} vs {want}");
    }
}

#[test]
fn gradcheck_passes_on_grad_itself() {
    // The gradient, as a function of the inputs, has a gradient: the
    // Hessian's rows. gradcheck compares backprop through grad's graph
    // against central differences.
    let f = |v: &[Value]| (&v[0] * &v[1]).sigmoid() * v[2].exp() + v[0].powf(3.0) * v[1].ln();
    for i in 0..3 {
        let report = gradcheck(|v| grad(&f(v), v).remove(i), &[0.4, 1.3, -0.2]).unwrap();
        assert!(report.passed(), "row {i}:\n{report}");
    }
}

#[test]
fn unreached_inputs_and_constants_get_a_constant_zero() {
    let (x, y, k) = (Value::new(2.0), Value::new(5.0), Value::constant(3.0));
    let z = &x * &k;
    let [dx, dy, dk] = grad(&z, &[x.clone(), y.clone(), k.clone()])
        .try_into()
        .unwrap();
    assert_eq!((dx.data(), dy.data(), dk.data()), (3.0, 0.0, 0.0));
    assert!(!dy.requires_grad() && !dk.requires_grad());
    // An intermediate node is an input too: dz/dt for z = t², t = x + 1.
    let t = &x + 1.0;
    let z = t.powf(2.0);
    assert_eq!(grad(&z, std::slice::from_ref(&t))[0].data(), 6.0);
    // A constant output: every derivative 0.
    assert_eq!(grad(&Value::constant(1.0), &[x])[0].data(), 0.0);
}

#[test]
fn grad_applies_the_lectures_gate_rules() {
    // The apple: add distributes, mul swaps, max routes.
    let (apple, count, tax) = (Value::new(100.0), Value::new(2.0), Value::new(1.1));
    let price = &apple * &count * &tax;
    let g: Vec<f64> = grad(&price, &[apple, count, tax])
        .iter()
        .map(Value::data)
        .collect();
    assert!(close(g[0], 2.2, 1e-15) && close(g[1], 110.0, 1e-15) && g[2] == 200.0);
    let (a, b) = (Value::new(3.0), Value::new(-1.0));
    let m = a.max(&b) + a.relu() + b.relu();
    let g: Vec<f64> = grad(&m, &[a, b]).iter().map(Value::data).collect();
    assert_eq!(g, [2.0, 0.0]);
}

// ------------------------------------------------------------- Value::pow

/// One row of `Value::pow`'s edge table: value, ∂/∂a, ∂/∂b.
fn pow_row(a0: f64, b0: f64, want: [f64; 3]) {
    let (a, b) = (Value::new(a0), Value::new(b0));
    let z = a.pow(&b);
    z.backward();
    let got = [z.data(), a.grad(), b.grad()];
    for (g, w) in got.iter().zip(want) {
        let same = (g.is_nan() && w.is_nan()) || *g == w || close(*g, w, 1e-15);
        assert!(same, "pow({a0}, {b0}): got {got:?}, want {want:?}");
    }
}

#[test]
fn pow_at_its_edges() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    pow_row(2.0, 3.0, [8.0, 12.0, 8.0 * 2f64.ln()]);
    pow_row(0.0, 2.0, [0.0, 0.0, 0.0]);
    pow_row(0.0, 1.0, [0.0, 1.0, 0.0]);
    pow_row(0.0, 0.5, [0.0, inf, 0.0]);
    pow_row(0.0, 0.0, [1.0, 0.0, -inf]);
    pow_row(0.0, -1.0, [inf, -inf, -inf]);
    pow_row(-2.0, 3.0, [-8.0, 12.0, nan]);
    pow_row(-8.0, 1.0 / 3.0, [nan, nan, nan]);
    // powf is pow with a constant exponent: the same value and ∂/∂a.
    let x = Value::new(1.7);
    let (y, z) = (x.powf(2.5), x.pow(&Value::constant(2.5)));
    assert_eq!(y.data().to_bits(), z.data().to_bits());
    (&y + &z).backward();
    assert!(close(x.grad(), 2.0 * 2.5 * 1.7f64.powf(1.5), 1e-14));
}

// ------------------------------------------------------ no_grad and detach

#[test]
fn no_grad_records_nothing_and_resumes_after_a_panic() {
    let w = Value::new(2.0);
    let y = no_grad(|| {
        let inner = no_grad(|| &w * 3.0); // nested
        assert!(!inner.requires_grad());
        (&w * &w + inner).exp()
    });
    assert!(y.is_leaf() && !y.requires_grad());
    assert_eq!(y.data(), (4.0f64 + 6.0).exp());
    assert!(y.operands().is_empty());
    // grad inside no_grad: numbers, not graphs.
    let square = &w * &w;
    let g = no_grad(|| grad(&square, std::slice::from_ref(&w)).remove(0));
    assert_eq!(g.data(), 4.0);
    assert!(!g.requires_grad());

    let result = std::panic::catch_unwind(|| {
        no_grad(|| -> Value { panic!("inside no_grad") });
    });
    assert!(result.is_err());
    let z = &w * 5.0; // recording again
    assert!(z.requires_grad() && !z.is_leaf());
    z.backward();
    assert_eq!(w.grad(), 5.0);
}

#[test]
fn detach_cuts_the_graph() {
    let x = Value::new(3.0);
    let y = (&x * &x).detach();
    assert!(y.is_leaf() && !y.requires_grad() && y.data() == 9.0);
    let z = &y * &x;
    z.backward();
    assert_eq!(x.grad(), 9.0); // not 27: nothing flowed through y
}

// ------------------------------------------------------ exact accumulation

#[test]
fn a_second_backward_adds_exactly_the_first() {
    // x feeds three products. Backward meets them latest first: shares
    // 0.7, 0.3 and 0.01 add up to 1.01. Added one by one onto the first
    // pass's 1.01, the second pass gave 2.0199999999999996, not 2.02.
    let x = Value::new(1.0);
    let y = &x * 0.01 + &x * 0.3 + &x * 0.7;
    y.backward();
    let first = x.grad();
    assert_eq!(first, 0.7 + 0.3 + 0.01);
    assert_ne!(first + 0.7 + 0.3 + 0.01, 2.0 * first); // the old way
    y.backward();
    assert_eq!(x.grad().to_bits(), (2.0 * first).to_bits());
    y.backward();
    assert_eq!(x.grad(), first + 2.0 * first);
}
