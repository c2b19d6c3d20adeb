#!/usr/bin/env python3
"""Writes data/mnist-sample/: the first 2,000 training and first 500 test
digits of a folder of MNIST IDX files (gzip-compressed, as
scripts/fetch-mnist.sh writes them), in the same format.

    python3 scripts/make-mnist-sample.py SOURCE_DIR [OUT_DIR]

The gzip header's timestamp is fixed, so the output is byte-for-byte
reproducible."""
import gzip
import struct
import sys
from pathlib import Path

if len(sys.argv) < 2:
    sys.exit("usage: make-mnist-sample.py SOURCE_DIR [OUT_DIR] (a folder with the MNIST .gz files)")
source = Path(sys.argv[1])
out = Path(sys.argv[2] if len(sys.argv) > 2 else "data/mnist-sample")
out.mkdir(parents=True, exist_ok=True)

for prefix, keep in [("train", 2000), ("t10k", 500)]:
    for kind, magic, header_words, item_bytes in [("images-idx3", 0x803, 4, 784), ("labels-idx1", 0x801, 2, 1)]:
        name = f"{prefix}-{kind}-ubyte.gz"
        data = gzip.decompress((source / name).read_bytes())
        header = list(struct.unpack(f">{header_words}I", data[: 4 * header_words]))
        assert header[0] == magic and header[1] >= keep, (name, header)
        header[1] = keep
        body = data[4 * header_words : 4 * header_words + keep * item_bytes]
        raw = struct.pack(f">{header_words}I", *header) + body
        (out / name).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        print(f"{out / name}: {keep} items")
