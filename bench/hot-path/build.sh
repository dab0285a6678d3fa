#!/bin/sh
# Build src/ into a private dist (default /tmp/mesher-hot-path/cur/dist, outside .bench-tmp which npm run bench wipes), so the harness measures a
# fixed build even while others rebuild dist/. Usage: bench/hot-path/build.sh [OUT_DIR]
set -e
cd "$(dirname "$0")/../.."
out="${1:-/tmp/mesher-hot-path/cur/dist}"
rm -rf "$out"
npx tsc -p tsconfig.build.json --outDir "$out"
# the build resolves its packages from the directory above it
ln -sfn "$PWD/node_modules" "$(dirname "$out")/node_modules"
