#!/usr/bin/env bash
# The GPU check of issue 15 in one call, for a machine with an NVIDIA GPU, nvcc, torch with
# CUDA, pybind11, scikit-build-core, cmake, ninja and pytest, and no network:
#
#   1. build aihw-core with the CUDA kernels for this GPU only (AIHW_CUDA=ON) and install it
#      with the three Python distributions (no dependencies fetched, no build isolation);
#   2. say what the build and torch see (cuda_compiled, cuda_available, the GPU);
#   3. run every test marked `cuda` (the kernels against the CPU engine, bit for bit);
#   4. the GPU benchmark rows (update vs addmm_, forward vs nn.Linear);
#   5. the LeNet example on the GPU (one epoch);
#   6. the C++ tests of the CUDA back-end;
#   7. print a summary table (step, result, seconds).
#
# Usage: tools/gpu_check.sh [--dry-run] [--skip-cpp] [--skip-bench]
#   --dry-run   check the prerequisites and print the plan; run nothing (works without a GPU)
# Logs go to $OUT (the device tool's folder) or build/gpu-check/. Each step has its own time
# limit so that the whole check stays within 10 minutes; the most important results come
# first. Exit status: 0 all steps passed, 1 a step failed, 3 no usable GPU.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOGS="${OUT:-$ROOT/build/gpu-check}"
mkdir -p "$LOGS"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
DRY=0
SKIP_CPP=0
SKIP_BENCH=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    --skip-cpp) SKIP_CPP=1 ;;
    --skip-bench) SKIP_BENCH=1 ;;
    *) echo "gpu_check.sh: unknown option $arg (allowed: --dry-run, --skip-cpp, --skip-bench)" >&2; exit 2 ;;
  esac
done

SUMMARY=()
FAILED=0
# step NAME LIMIT_S COMMAND...: run with a time limit, log to $LOGS/NAME.log, record the result.
step() {
  local name="$1" limit="$2"
  shift 2
  local start end status result
  start=$(date +%s)
  echo "== $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" > "$LOGS/$name.log" 2>&1
  status=$?
  end=$(date +%s)
  tail -n 25 "$LOGS/$name.log"
  case $status in
    0) result="ok" ;;
    124|137) result="TIMEOUT"; FAILED=1 ;;
    *) result="FAILED ($status)"; FAILED=1 ;;
  esac
  SUMMARY+=("$(printf '%-14s %-14s %5ss' "$name" "$result" "$((end - start))")")
}

# The GPU's architecture for the build (CMake's "native" needs CMake 3.24).
gpu_arch() {
  local cap
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
  echo "${cap:-native}"
}

missing=()
for tool in nvcc cmake ninja; do command -v "$tool" > /dev/null || missing+=("$tool"); done
for module in torch pybind11 scikit_build_core pytest pluggy; do
  "$PYTHON" -c "import $module" 2> /dev/null || missing+=("python:$module")
done
has_gpu=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))" 2> /dev/null || echo 0)

echo "aihw GPU check: $(date -u +%FT%TZ), logs in $LOGS"
echo "prerequisites missing: ${missing[*]:-none}; torch sees a GPU: $([[ $has_gpu == 1 ]] && echo yes || echo no)"
if [[ $DRY == 1 ]]; then
  echo "plan: build (AIHW_CUDA=ON, arch $(gpu_arch)), info, pytest -m cuda, benchmarks, LeNet example, C++ CUDA tests"
  exit 0
fi
if [[ $has_gpu != 1 ]]; then
  echo "gpu_check.sh: torch sees no GPU here; this check needs one (use --dry-run to see the plan)" >&2
  exit 3
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "gpu_check.sh: cannot build: missing ${missing[*]}" >&2
  exit 1
fi
nvidia-smi -L 2> /dev/null | head -n 4
ARCH=$(gpu_arch)
export AIHW_CUDA=ON AIHW_CUDA_ARCHITECTURES="$ARCH" AIHW_REQUIRE_NATIVE=1
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

# Installed into a folder of its own (no change to the machine's Python; the entry points
# of aihw-devices are found on sys.path like any other distribution's).
SITE="$ROOT/build/gpu-site"
rm -rf "$SITE"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
step build 300 "$PYTHON" -m pip install --no-build-isolation --no-deps --no-index \
  --target "$SITE" packages/aihw-core packages/aihw-devices packages/aihw-torch packages/aihw-optim
step info 60 "$PYTHON" - << 'PY'
import torch
from aihw.core import engine
module = engine.load()
print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0))
print("cuda_compiled", module.cuda_compiled(), "devices", module.cuda_device_count(),
      "cuda_available", engine.cuda_available())
assert engine.cuda_available(), "the CUDA kernels cannot run"
PY
# Only the files with cuda-marked tests: the others may import what this machine lacks.
mapfile -t CUDA_TESTS < <(grep -rl "pytest.mark.cuda" packages/*/tests tests --include="test_*.py" | sort)
echo "test files with cuda-marked tests: ${#CUDA_TESTS[@]}"
# A run where every cuda test skipped (the kernels did not load) is a failure here.
step pytest_cuda 300 bash -c '"$0" -m pytest -m cuda -q -rs -p no:cacheprovider \
  --junitxml="$1" "${@:2}" | tee "$1.out"; rc=${PIPESTATUS[0]}; (( rc == 0 )) || exit $rc
  grep -q " passed" "$1.out" || { echo "no cuda test ran: all skipped"; exit 5; }' \
  "$PYTHON" "$LOGS/pytest_cuda.xml" "${CUDA_TESTS[@]}"
if [[ $SKIP_BENCH == 0 ]]; then
  step bench_update 150 "$PYTHON" benchmarks/update.py --device cuda --repeats 5
  step bench_forward 90 "$PYTHON" benchmarks/forward.py --device cuda --repeats 10
fi
step lenet 120 "$PYTHON" examples/train_lenet_cuda.py --device cuda --epochs 1
if [[ $SKIP_CPP == 0 ]]; then
  step cpp_cuda 240 bash -c "cmake -S packages/aihw-core -B build/gpu-cpp -G Ninja \
    -DAIHW_CUDA=ON -DAIHW_CUDA_ARCHITECTURES=$ARCH -DAIHW_BUILD_TESTS=ON \
    -DAIHW_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null && ninja -C build/gpu-cpp \
    && ctest --test-dir build/gpu-cpp -R cuda --output-on-failure"
fi

echo
echo "summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1))"
printf '%s\n' "${SUMMARY[@]}" | tee "$LOGS/summary.txt"
exit $FAILED
