//! The floor for an MNIST training step: a 784-h-10 relu network with
//! softmax cross-entropy and plain SGD, hand-written on dense `f64` arrays
//! with preallocated buffers (skipping zero pixels in the weight gradient,
//! as any sensible dense loop would). `step` sums each dot in one running
//! sum; `step_fast` in eight, which keeps the adder busy (the fast floor).

pub struct DenseMnist {
    w1: Vec<f64>, // [hidden][784]
    b1: Vec<f64>,
    w2: Vec<f64>, // [10][hidden]
    b2: Vec<f64>,
    hidden: usize,
    g: (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>),
    h: Vec<f64>,
    dh: Vec<f64>,
}

impl DenseMnist {
    /// Copies the weights of a chainrule `Mlp` 784-h-10.
    pub fn from_mlp(mlp: &chainrule::nn::Mlp) -> DenseMnist {
        let layer = |l: usize| {
            let neurons = mlp.layers()[l].neurons();
            let w: Vec<f64> = neurons
                .iter()
                .flat_map(|n| n.weights().iter().map(|w| w.data()))
                .collect();
            let b: Vec<f64> = neurons.iter().map(|n| n.bias().data()).collect();
            (w, b)
        };
        let ((w1, b1), (w2, b2)) = (layer(0), layer(1));
        let hidden = b1.len();
        DenseMnist {
            g: (
                vec![0.0; w1.len()],
                vec![0.0; hidden],
                vec![0.0; w2.len()],
                vec![0.0; 10],
            ),
            w1,
            b1,
            w2,
            b2,
            hidden,
            h: vec![0.0; hidden],
            dh: vec![0.0; hidden],
        }
    }

    /// One step on a batch of (pixels / 255, label); returns the mean loss.
    pub fn step(&mut self, batch: &[(Vec<f64>, usize)], rate: f64) -> f64 {
        self.step_with(batch, rate, |w, x| {
            w.iter().zip(x).map(|(w, x)| w * x).sum()
        })
    }

    /// `step` with every dot summed in eight running sums.
    pub fn step_fast(&mut self, batch: &[(Vec<f64>, usize)], rate: f64) -> f64 {
        self.step_with(batch, rate, dot8)
    }

    fn step_with(
        &mut self,
        batch: &[(Vec<f64>, usize)],
        rate: f64,
        dot: impl Fn(&[f64], &[f64]) -> f64,
    ) -> f64 {
        let (gw1, gb1, gw2, gb2) = &mut self.g;
        gw1.fill(0.0);
        gb1.fill(0.0);
        gw2.fill(0.0);
        gb2.fill(0.0);
        let n = batch.len() as f64;
        let mut total = 0.0;
        for (x, label) in batch {
            for j in 0..self.hidden {
                let row = &self.w1[j * 784..(j + 1) * 784];
                let z = dot(row, x) + self.b1[j];
                self.h[j] = z.max(0.0);
            }
            let mut logits = [0.0f64; 10];
            for (k, logit) in logits.iter_mut().enumerate() {
                let row = &self.w2[k * self.hidden..(k + 1) * self.hidden];
                *logit = dot(row, &self.h) + self.b2[k];
            }
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|z| (z - max).exp()).sum();
            total += sum.ln() + max - logits[*label];
            self.dh.fill(0.0);
            for k in 0..10 {
                let d = ((logits[k] - max).exp() / sum - if k == *label { 1.0 } else { 0.0 }) / n;
                gb2[k] += d;
                for j in 0..self.hidden {
                    gw2[k * self.hidden + j] += d * self.h[j];
                    self.dh[j] += d * self.w2[k * self.hidden + j];
                }
            }
            for j in 0..self.hidden {
                if self.h[j] <= 0.0 {
                    continue;
                }
                let d = self.dh[j];
                gb1[j] += d;
                let grow = &mut gw1[j * 784..(j + 1) * 784];
                for (g, &xi) in grow.iter_mut().zip(x) {
                    if xi != 0.0 {
                        *g += d * xi;
                    }
                }
            }
        }
        for (p, g) in [
            (&mut self.w1, &*gw1),
            (&mut self.b1, &*gb1),
            (&mut self.w2, &*gw2),
            (&mut self.b2, &*gb2),
        ] {
            for (p, g) in p.iter_mut().zip(g) {
                *p -= rate * g;
            }
        }
        total / n
    }
}

/// `Σ wi xi` in eight running sums.
fn dot8(w: &[f64], x: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (mut w8, mut x8) = (w.chunks_exact(8), x.chunks_exact(8));
    for (a, b) in (&mut w8).zip(&mut x8) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    for (k, (a, b)) in w8.remainder().iter().zip(x8.remainder()).enumerate() {
        acc[k] += a * b;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}
