//! The floor for the moons training step: the same network (2-16-16-1,
//! relu), loss (mean hinge + 1e-4 Σw²) and SGD update, hand-written on
//! dense `f64` arrays with preallocated buffers: what the step costs with
//! no graph at all.

pub struct DenseMlp {
    /// Per layer: weights `[out][in]` row-major, then biases `[out]`.
    pub layers: Vec<(Vec<f64>, Vec<f64>, usize, usize)>,
    grads: Vec<(Vec<f64>, Vec<f64>)>,
    activations: Vec<Vec<f64>>,
    deltas: Vec<Vec<f64>>,
}

impl DenseMlp {
    /// Copies the weights of a chainrule `Mlp` (same layout).
    pub fn from_mlp(mlp: &chainrule::nn::Mlp) -> DenseMlp {
        let layers: Vec<(Vec<f64>, Vec<f64>, usize, usize)> = mlp
            .layers()
            .iter()
            .map(|layer| {
                let w = layer
                    .neurons()
                    .iter()
                    .flat_map(|n| n.weights().iter().map(|w| w.data()))
                    .collect();
                let b = layer.neurons().iter().map(|n| n.bias().data()).collect();
                (w, b, layer.inputs(), layer.neurons().len())
            })
            .collect();
        let grads = layers
            .iter()
            .map(|(w, b, _, _)| (vec![0.0; w.len()], vec![0.0; b.len()]))
            .collect();
        let mut widths = vec![layers[0].2];
        widths.extend(layers.iter().map(|l| l.3));
        DenseMlp {
            layers,
            grads,
            activations: widths.iter().map(|&n| vec![0.0; n]).collect(),
            deltas: widths.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One full-batch step; returns (loss, accuracy).
    pub fn step(
        &mut self,
        points: &[[f64; 2]],
        labels: &[f64],
        rate: f64,
        alpha: f64,
    ) -> (f64, f64) {
        for (gw, gb) in &mut self.grads {
            gw.fill(0.0);
            gb.fill(0.0);
        }
        let n = points.len() as f64;
        let last = self.layers.len() - 1;
        let (mut data_loss, mut correct) = (0.0, 0usize);
        for (point, &y) in points.iter().zip(labels) {
            self.activations[0].copy_from_slice(point);
            for (l, (w, b, inputs, outputs)) in self.layers.iter().enumerate() {
                let (before, after) = self.activations.split_at_mut(l + 1);
                let (x, out) = (&before[l], &mut after[0]);
                for o in 0..*outputs {
                    let row = &w[o * inputs..(o + 1) * inputs];
                    let z = row.iter().zip(x.iter()).map(|(w, x)| w * x).sum::<f64>() + b[o];
                    out[o] = if l < last { z.max(0.0) } else { z };
                }
            }
            let score = self.activations[last + 1][0];
            correct += usize::from((score > 0.0) == (y > 0.0));
            let margin = 1.0 - y * score;
            data_loss += margin.max(0.0);
            self.deltas[last + 1][0] = if margin > 0.0 { -y / n } else { 0.0 };
            for l in (0..=last).rev() {
                let (w, _, inputs, outputs) = &self.layers[l];
                let (gw, gb) = &mut self.grads[l];
                let (lower, upper) = self.deltas.split_at_mut(l + 1);
                let (delta_in, delta) = (&mut lower[l], &upper[0]);
                delta_in.fill(0.0);
                let x = &self.activations[l];
                for o in 0..*outputs {
                    let d = delta[o];
                    if d == 0.0 {
                        continue;
                    }
                    gb[o] += d;
                    for i in 0..*inputs {
                        gw[o * inputs + i] += d * x[i];
                        delta_in[i] += d * w[o * inputs + i];
                    }
                }
                if l > 0 {
                    for (d, a) in delta_in.iter_mut().zip(&self.activations[l]) {
                        if *a <= 0.0 {
                            *d = 0.0; // relu: the gradient passes only where the unit was on
                        }
                    }
                }
            }
        }
        let mut squares = 0.0;
        for ((w, b, _, _), (gw, gb)) in self.layers.iter_mut().zip(&self.grads) {
            for (p, g) in w
                .iter_mut()
                .chain(b.iter_mut())
                .zip(gw.iter().chain(gb.iter()))
            {
                squares += *p * *p;
                *p -= rate * (g + 2.0 * alpha * *p);
            }
        }
        (data_loss / n + alpha * squares, correct as f64 / n)
    }
}
