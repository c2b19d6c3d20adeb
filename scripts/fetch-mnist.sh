#!/usr/bin/env bash
# Fetches the full MNIST (60,000 training and 10,000 test digits) into
# data/mnist/ (or the folder given), checking each file's sha256. Files that
# are already there and check out are kept.
#
#   scripts/fetch-mnist.sh [DIR]            # MNIST_MIRROR=URL to use another mirror
#
# Without a download, the examples use the committed data/mnist-sample/.
set -euo pipefail

dest="${1:-data/mnist}"
mirror="${MNIST_MIRROR:-https://storage.googleapis.com/cvdf-datasets/mnist}"
files=(
  "train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
  "train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
  "t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
  "t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
)

command -v curl >/dev/null || { echo "fetch-mnist: needs curl (apt-get install curl)" >&2; exit 1; }
command -v sha256sum >/dev/null || { echo "fetch-mnist: needs sha256sum (coreutils)" >&2; exit 1; }
mkdir -p "$dest"

for entry in "${files[@]}"; do
  read -r name sum <<<"$entry"
  path="$dest/$name"
  if [ -f "$path" ] && echo "$sum  $path" | sha256sum --check --status; then
    echo "$path: present, sha256 ok"
    continue
  fi
  echo "fetching $mirror/$name"
  if ! curl --fail --silent --show-error --location --connect-timeout 15 --max-time 600 \
      --output "$path.part" "$mirror/$name"; then
    rm -f "$path.part"
    echo "fetch-mnist: cannot download $name from $mirror (no internet here, or the mirror is down)." >&2
    echo "fetch-mnist: the examples still run on data/mnist-sample/; or copy the four MNIST files into $dest yourself." >&2
    exit 1
  fi
  if ! echo "$sum  $path.part" | sha256sum --check --status; then
    rm -f "$path.part"
    echo "fetch-mnist: $name from $mirror does not have the expected sha256 $sum; not kept." >&2
    exit 1
  fi
  mv "$path.part" "$path"
  echo "$path: sha256 ok"
done
echo "MNIST is in $dest/ (use --data $dest)"
