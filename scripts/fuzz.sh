#!/usr/bin/env bash
# make fuzz: runs the native host's frame and message decoding fuzz target
# (fuzz/fuzz_targets/frames.rs) with libFuzzer for FUZZ_SECONDS (default 60).
# Needs the nightly toolchain (installed with rustup here) and cargo-fuzz,
# which it installs from crates.io when missing. Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
target="${FUZZ_TARGET:-frames}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd fuzz
mkdir -p "corpus/$target"
# Seeds: a hello, a status, garbage, an oversized header.
python3 - "corpus/$target" <<'PY'
import json, struct, sys, os
d = sys.argv[1]
def frame(b): return struct.pack('=I', len(b)) + b
seeds = {
    "hello": b"\x05" + frame(json.dumps({"id": 1, "type": "hello", "protocol": 1}).encode()),
    "status": b"\x02" + frame(b'{"id":2,"type":"status"}') + frame(b'{"id":3,"type":"vault_list"}'),
    "garbage": b"\x01" + frame(b"{nope") + frame(b'{"id":4,"type":"x"}'),
    "oversized": b"\x03" + struct.pack('=I', 4096) + b"x" * 100 + frame(b"{}"),
}
for name, data in seeds.items():
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)
PY
echo "fuzz: running $target for ${seconds}s"
cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096
