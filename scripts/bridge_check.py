"""An independent check of chainrule's safetensors files, in numpy.

    python bridge_check.py DIR

For each data set NAME (mnist, moons), DIR holds, written by tests/bridge.rs:

  NAME-model.safetensors   a network chainrule trained (F64; PyTorch's
                           nn.Sequential names: 0.weight [out, in], 0.bias,
                           2.weight, ...; metadata "activation")
  NAME-check.safetensors   a batch: "x" [B, in], "y" [B] (classes, as
                           floats), and chainrule's "logits" [B, C], "loss"
                           [1] (mean softmax cross-entropy) and the gradient
                           of the loss for every parameter ("0.weight" ...)

The forward pass, the loss and its gradient are written here plainly in
numpy (nothing from chainrule) and compared with chainrule's numbers at a
relative 1e-12: relative to the sum of the absolute values of the terms
that made each number (numpy adds a gradient's 64 per-sample terms in
another order than chainrule, and a sum that cancels keeps its digits only
relative to its terms). PyTorch, if it is installed, is checked too.

The reverse direction: for each NAME it writes NAME-reverse-model.safetensors
(weights drawn here, saved as PyTorch's save_file would save an
nn.Sequential's state_dict, with its activation in the metadata) and
NAME-reverse-check.safetensors ("x", the logits computed here and their
magnitudes "size"), which tests/bridge.rs loads into an Mlp and compares.

Prints the largest difference seen per quantity; exits 1 on a mismatch.
"""

import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

TOLERANCE = 1e-12


def activation(name, z):
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0.0).astype(np.float64)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s, s * (1.0 - s)
    return z, np.ones_like(z)


def layers_of(tensors):
    count = len([k for k in tensors if k.endswith(".weight")])
    return [(tensors[f"{2 * l}.weight"], tensors[f"{2 * l}.bias"]) for l in range(count)]


def forward(layers, act, x):
    """Logits, what backprop needs (each layer's input and slope), and the
    logits' magnitudes: the same sums over absolute values, the scale a
    sum's rounding is measured against."""
    h, inputs, slopes = x, [], []
    size = np.abs(x)
    for i, (w, b) in enumerate(layers):
        z = h @ w.T + b
        magnitude = size @ np.abs(w).T + np.abs(b)
        inputs.append((h, size))
        if i + 1 < len(layers):
            h, slope = activation(act, z)
            size = magnitude * np.abs(slope) if act != "relu" else magnitude * slope
            slopes.append(slope)
        else:
            h, size = z, magnitude
    return h, size, inputs, slopes


def loss_and_grads(layers, act, x, y):
    """The mean softmax cross-entropy and every parameter's gradient, each
    with its magnitude (the sum of its terms' absolute values)."""
    logits, logit_size, inputs, slopes = forward(layers, act, x)
    batch = x.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    classes = y.astype(np.int64)
    loss = -log_p[np.arange(batch), classes].mean()
    # d(mean CE)/d logits = (softmax - one-hot) / B.
    d = np.exp(log_p)
    d[np.arange(batch), classes] -= 1.0
    d /= batch
    size = np.abs(d) + np.exp(log_p) / batch
    grads, sizes = {}, {}
    for l in range(len(layers) - 1, -1, -1):
        w, _ = layers[l]
        h, h_size = inputs[l]
        grads[f"{2 * l}.weight"] = d.T @ h
        sizes[f"{2 * l}.weight"] = size.T @ h_size
        grads[f"{2 * l}.bias"] = d.sum(axis=0)
        sizes[f"{2 * l}.bias"] = size.sum(axis=0)
        if l > 0:
            slope = np.abs(slopes[l - 1])
            d = (d @ w) * slopes[l - 1]
            size = (size @ np.abs(w)) * slope
    return logits, logit_size, loss, grads, sizes


def relative(a, b, size):
    """The largest |a - b| relative to the sum of the magnitudes of the
    terms that made b (`size`): the scale on which a sum's rounding
    depends, whatever order the terms were added in. A sum that cancels to
    near 0 keeps no digits relative to itself, only to its terms."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    size = np.maximum(np.asarray(size, dtype=np.float64), np.abs(b))
    size = np.where(size > 0.0, size, 1.0)
    return float((np.abs(a - b) / size).max(initial=0.0))


def check_set(directory, name):
    model_path = f"{directory}/{name}-model.safetensors"
    with safe_open(model_path, framework="numpy") as f:
        act = f.metadata()["activation"]
    model = load_file(model_path)
    for key, tensor in model.items():
        assert tensor.dtype == np.float64, f"{key} is {tensor.dtype}, not float64"
    layers = layers_of(model)
    check = load_file(f"{directory}/{name}-check.safetensors")
    x, y = check["x"], check["y"]
    logits, logit_size, loss, grads, sizes = loss_and_grads(layers, act, x, y)
    worst = {
        "logits": relative(check["logits"], logits, logit_size),
        "loss": relative(check["loss"], [loss], [abs(loss)]),
    }
    worst["gradients"] = max(relative(check[key], grads[key], sizes[key]) for key in grads)
    torch_said = ""
    try:
        import torch  # only if already installed

        modules = []
        for i, (w, b) in enumerate(layers):
            linear = torch.nn.Linear(w.shape[1], w.shape[0]).double()
            modules.append(linear)
            if i + 1 < len(layers):
                modules.append({"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(),
                                "sigmoid": torch.nn.Sigmoid()}.get(act, torch.nn.Identity()))
        net = torch.nn.Sequential(*modules)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in model.items()})
        out = net(torch.from_numpy(x))
        torch_loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y).long())
        torch_loss.backward()
        worst["torch loss"] = relative(check["loss"], [torch_loss.item()], [abs(loss)])
        worst["torch gradients"] = max(
            relative(check[k], p.grad.numpy(), sizes[k])
            for k, p in net.state_dict(keep_vars=True).items())
        torch_said = " (PyTorch too)"
    except ImportError:
        pass
    print(f"{name}: {x.shape[0]} samples, sizes "
          f"{[layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]}, {act}{torch_said}; "
          + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    bad = {k: v for k, v in worst.items() if not v <= TOLERANCE}
    if bad:
        raise AssertionError(f"{name}: differences above {TOLERANCE}: {bad}")

    # The reverse direction: weights drawn here, saved as PyTorch saves a
    # state_dict, logits computed here.
    rng = np.random.default_rng(7)
    drawn = {}
    for l, (w, b) in enumerate(layers):
        drawn[f"{2 * l}.weight"] = rng.normal(0.0, 0.5, size=w.shape)
        drawn[f"{2 * l}.bias"] = rng.normal(0.0, 0.1, size=b.shape)
    save_file(drawn, f"{directory}/{name}-reverse-model.safetensors", metadata={"activation": act})
    logits, size, _, _ = forward(layers_of(drawn), act, x)
    save_file({"x": x, "logits": logits, "size": size},
              f"{directory}/{name}-reverse-check.safetensors")


def main():
    directory = sys.argv[1]
    for name in ("mnist", "moons"):
        check_set(directory, name)
    print("ok: numpy agrees with chainrule")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
