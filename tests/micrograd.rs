//! micrograd's `test/test_engine.py`, both tests, with the numbers it checks
//! against PyTorch. The Python is quoted beside each line.

use chainrule::Value;

fn assert_close(actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol,
        "{actual} differs from {expected} by more than {tol}"
    );
}

#[test]
fn sanity_check() {
    let x = Value::new(-4.0); //                 x = Value(-4.0)
    let z = 2.0 * &x + 2.0 + &x; //              z = 2 * x + 2 + x
    let q = z.relu() + &z * &x; //               q = z.relu() + z * x
    let h = (&z * &z).relu(); //                 h = (z * z).relu()
    let y = &h + &q + &q * &x; //                y = h + q + q * x
    y.backward();

    assert_eq!(y.data(), -20.0); //              ymg.data == ypt.data.item()
    assert_eq!(x.grad(), 46.0); //               xmg.grad == xpt.grad.item()
}

#[test]
fn more_ops() {
    let a = Value::new(-4.0); //                 a = Value(-4.0)
    let b = Value::new(2.0); //                  b = Value(2.0)
    let mut c = &a + &b; //                      c = a + b
    let mut d = &a * &b + b.powf(3.0); //        d = a * b + b**3
    c += &c + 1.0; //                            c += c + 1
    c += 1.0 + &c + (-&a); //                    c += 1 + c + (-a)
    d += &d * 2.0 + (&b + &a).relu(); //         d += d * 2 + (b + a).relu()
    d += 3.0 * &d + (&b - &a).relu(); //         d += 3 * d + (b - a).relu()
    let e = &c - &d; //                          e = c - d
    let f = e.powf(2.0); //                      f = e**2
    let mut g = &f / 2.0; //                     g = f / 2.0
    g += 10.0 / &f; //                           g += 10.0 / f
    g.backward();

    let tol = 1e-12;
    assert_close(g.data(), 24.70408163265306, tol);
    assert_close(a.grad(), 138.83381924198252, tol);
    assert_close(b.grad(), 645.5772594752186, tol);
}
