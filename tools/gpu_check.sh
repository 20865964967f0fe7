#!/usr/bin/env bash
# The GPU check of issue 15 in one call: build aihw-core with the CUDA kernels, install the
# packages, report cuda_compiled()/cuda_available() and the GPU, run the `cuda` tests, the
# GPU benchmark rows and the C++ CUDA tests, then print a summary table.
#
# Usage: tools/gpu_check.sh [--dry-run] [--budget SECONDS]
#   --dry-run        print the steps and which tools are present; build and run nothing
#   --budget S       total wall-clock budget (default 540 s, or $AIHW_GPU_CHECK_BUDGET); each
#                    step gets what is left, the most important steps first
#   PYTHON=...       the interpreter (default: python3 on PATH)
#   OUT=...          logs go to $OUT/gpu_check/ (else a temporary directory)
#
# The machine has no network: every install is --no-build-isolation --no-deps. Exit status:
# 0 when every step that ran passed, 1 when a step failed, 2 when there is no GPU.
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUDGET="${AIHW_GPU_CHECK_BUDGET:-540}"
DRY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --budget) BUDGET="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (allowed: --dry-run, --budget S)" >&2; exit 64 ;;
  esac
  shift
done
if ! [[ "$BUDGET" =~ ^[0-9]+$ ]] || (( BUDGET < 60 )); then
  echo "gpu_check.sh: --budget $BUDGET must be a whole number of seconds >= 60" >&2
  exit 64
fi

LOGS="${OUT:+$OUT/gpu_check}"
LOGS="${LOGS:-$(mktemp -d -t aihw-gpu-check.XXXXXX)}"
mkdir -p "$LOGS"
BUILD="${AIHW_GPU_CHECK_BUILD:-/tmp/aihw-gpu-check-build}"
START=$SECONDS
SUMMARY=()
FAILED=0

left() { echo $(( BUDGET - (SECONDS - START) )); }

# step NAME MAX_SECONDS COMMAND...: run COMMAND under min(MAX, budget left - 15 s), log it,
# record status, seconds and the log's last line for the summary.
step() {
  local name="$1" max="$2"; shift 2
  local limit; limit=$(( $(left) - 15 ))
  (( limit > max )) && limit=$max
  if (( limit < 10 )); then
    SUMMARY+=("$name|skipped (budget spent)|0|-")
    return 0
  fi
  echo "== $name (at most ${limit}s; log $LOGS/$name.log)"
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" bash -c "$*" >"$LOGS/$name.log" 2>&1
  rc=$?
  local last; last="$(grep -v '^\s*$' "$LOGS/$name.log" | tail -n 1 | cut -c1-90)"
  local status="ok"
  if (( rc == 124 || rc == 137 )); then status="TIMEOUT"; FAILED=1
  elif (( rc != 0 )); then status="FAILED ($rc)"; FAILED=1; fi
  SUMMARY+=("$name|$status|$(( SECONDS - t0 ))|${last//|//}")
  tail -n 25 "$LOGS/$name.log"
  return $rc
}

summary() {
  echo
  echo "== summary (logs in $LOGS, $(( SECONDS - START ))s of ${BUDGET}s)"
  printf '%-16s %-22s %6s  %s\n' step status seconds "last line"
  for row in "${SUMMARY[@]}"; do
    IFS='|' read -r n s t l <<<"$row"
    printf '%-16s %-22s %6s  %s\n' "$n" "$s" "$t" "$l"
  done | tee "$LOGS/summary.txt"
  if [[ -f "$LOGS/bench_goals.log" ]]; then
    echo "issue 15 goals (benchmarks):"
    grep -hE "met|MISSED" "$LOGS/bench_goals.log" | tee -a "$LOGS/summary.txt"
  fi
}

# -- what is here -------------------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
GPU=""
if have nvidia-smi; then GPU="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)"; fi
echo "gpu_check.sh: repo $ROOT, python $(command -v "$PYTHON" || echo missing), logs $LOGS"
for tool in nvcc nvidia-smi cmake ninja; do
  printf '  %-11s %s\n' "$tool" "$(command -v "$tool" || echo 'not found')"
done
printf '  %-11s %s\n' GPU "${GPU:-none seen by nvidia-smi}"

CORE_INSTALL="cd '$ROOT' && AIHW_CUDA=ON AIHW_CUDA_ARCHITECTURES=native '$PYTHON' -m pip install -v --no-build-isolation --no-deps -e packages/aihw-core"
PURE_INSTALL="cd '$ROOT' && '$PYTHON' -m pip install --no-build-isolation --no-deps -e packages/aihw-devices -e packages/aihw-torch -e packages/aihw-optim"
INFO="'$PYTHON' - <<'EOF'
import torch
from aihw.core import engine
print('torch', torch.__version__, 'CUDA', torch.version.cuda)
print('cuda_compiled()', engine.load().cuda_compiled())
print('cuda_available()', engine.cuda_available())
print('GPU', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
assert engine.cuda_available(), 'the CUDA kernels cannot run: see the lines above'
EOF"
# All skipped (cuda_available() False) is a failure here, not a pass.
PYTEST_CUDA="cd '$ROOT' && '$PYTHON' -m pytest -q -p no:cacheprovider -m cuda -rs packages/aihw-core/tests tests > '$LOGS/pytest_cuda.out' 2>&1; rc=\$?; cat '$LOGS/pytest_cuda.out'; (( rc == 0 )) || exit \$rc; grep -q ' passed' '$LOGS/pytest_cuda.out' || { echo 'no cuda test ran: all skipped'; exit 3; }"
BENCH_GOALS="cd '$ROOT/benchmarks' && '$PYTHON' update.py --device cuda --sizes 4096 --batches 1024 --scales 1e-2 --repeats 5 && '$PYTHON' forward.py --device cuda --sizes 4096 --batch 1024 --repeats 10"
CTEST="cmake -S '$ROOT/packages/aihw-core' -B '$BUILD' -G Ninja -DAIHW_CUDA=ON -DAIHW_WERROR=ON -DAIHW_BUILD_TESTS=ON -DAIHW_BUILD_PYTHON=OFF -DAIHW_CUDA_ARCHITECTURES=native && ninja -C '$BUILD' && ctest --test-dir '$BUILD' --output-on-failure"
BENCH_ALL="cd '$ROOT/benchmarks' && '$PYTHON' update.py --device cuda --repeats 3"
EXAMPLE="cd '$ROOT' && '$PYTHON' examples/train_lenet_cuda.py --device cuda --epochs 1"

if (( DRY )); then
  echo "dry run: the steps, in order, each under what is left of ${BUDGET}s:"
  for s in "build:$CORE_INSTALL" "install:$PURE_INSTALL" "info:$INFO" "pytest_cuda:$PYTEST_CUDA" \
           "bench_goals:$BENCH_GOALS" "ctest:$CTEST" "bench_update:$BENCH_ALL" "lenet:$EXAMPLE"; do
    echo "  ${s%%:*}: ${s#*:}" | head -n 1
  done
  exit 0
fi
if [[ -z "$GPU" ]] && ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu_check.sh: no GPU here (nvidia-smi sees none and torch.cuda.is_available() is False);"
  echo "run it on a machine with an NVIDIA GPU, or use --dry-run to see the steps"
  exit 2
fi

# -- the steps, most important first ----------------------------------------------------
if ! step build 330 "$CORE_INSTALL"; then
  summary
  echo "gpu_check.sh: the CUDA build failed; nothing else can run (see $LOGS/build.log)"
  exit 1
fi
if ! step install 60 "$PURE_INSTALL"; then
  # Fall back to the sources: aihw is a namespace package, so PYTHONPATH completes it.
  export PYTHONPATH="$ROOT/packages/aihw-devices/src:$ROOT/packages/aihw-torch/src:$ROOT/packages/aihw-optim/src${PYTHONPATH:+:$PYTHONPATH}"
  echo "note: installing the pure-Python packages failed; using PYTHONPATH=$PYTHONPATH"
  SUMMARY+=("install-note|PYTHONPATH fallback|0|the pure-Python packages run from source")
fi
step info 60 "$INFO"
step pytest_cuda 240 "$PYTEST_CUDA"
step bench_goals 90 "$BENCH_GOALS"
step ctest 240 "$CTEST"
step bench_update 180 "$BENCH_ALL"
step lenet 90 "$EXAMPLE"
summary
exit $FAILED
