#!/bin/sh
# Build src/ into a private dist (default .bench-tmp/hot-path/cur/dist), so the harness measures a
# fixed build even while others rebuild dist/. Usage: bench/hot-path/build.sh [OUT_DIR]
set -e
cd "$(dirname "$0")/../.."
out="${1:-.bench-tmp/hot-path/cur/dist}"
rm -rf "$out"
npx tsc -p tsconfig.build.json --outDir "$out"
