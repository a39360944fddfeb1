#!/usr/bin/env bash
# Fast in-place development build: compiles the extension into build/dev and copies it
# next to the Python sources, so `PYTHONPATH=python pytest` uses it. A lock serializes
# concurrent builds from several shells.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/dev
exec 9>build/dev.lock
flock 9
if [ ! -f build/dev/build.ninja ]; then
  cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
fi
cmake --build build/dev
# copy then rename: replacing the file in place would crash processes that have it loaded
for so in build/dev/_core*.so; do
  cp "$so" "python/neutralkit/.$(basename "$so").tmp"
  mv -f "python/neutralkit/.$(basename "$so").tmp" "python/neutralkit/$(basename "$so")"
done
