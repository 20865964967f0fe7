#!/usr/bin/env bash
# Build aihw.core._core in place for development: configure and build with the venv's
# Python into build/core-inplace/, then copy _core*.so next to the Python sources
# (packages/aihw-core/src/aihw/core/), where the dev venv's .pth finds it.
#
# Usage: tools/build_core_inplace.sh [extra cmake -D options...]
#   PYTHON=/path/to/python   the interpreter to build for (default: .venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORE="$ROOT/packages/aihw-core"
BUILD="$ROOT/build/core-inplace"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
if [[ ! -x "$PYTHON" ]]; then
  echo "build_core_inplace.sh: no Python at $PYTHON (set PYTHON=...)" >&2
  exit 1
fi

GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
# A build directory configured with another generator cannot be reused.
if [[ -f "$BUILD/CMakeCache.txt" ]] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${GENERATOR[1]:-Unix Makefiles}\$" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi

cmake -S "$CORE" -B "$BUILD" "${GENERATOR[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DPython_EXECUTABLE="$PYTHON" \
  -Dpybind11_DIR="$("$PYTHON" -m pybind11 --cmakedir)" \
  -DAIHW_BUILD_PYTHON=ON \
  "$@"
cmake --build "$BUILD" --target _core

DEST="$CORE/src/aihw/core"
shopt -s nullglob
built=("$BUILD"/_core*.so "$BUILD"/_core*.pyd)
if [[ ${#built[@]} -ne 1 ]]; then
  echo "build_core_inplace.sh: expected one built module in $BUILD, found ${#built[@]}" >&2
  exit 1
fi
rm -f "$DEST"/_core*.so "$DEST"/_core*.pyd
# Copy to a temporary name and rename: a running interpreter that has the old module
# mapped keeps its inode.
cp "${built[0]}" "$DEST/.$(basename "${built[0]}").tmp"
mv "$DEST/.$(basename "${built[0]}").tmp" "$DEST/$(basename "${built[0]}")"
echo "installed $DEST/$(basename "${built[0]}")"
