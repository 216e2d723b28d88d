#!/usr/bin/env bash
# The GPU check of ganinv, in under 8 minutes on one CUDA machine (each stage has its own time limit, and
# stages that no longer fit in GPU_CHECK_BUDGET seconds, 460 by default, are skipped and said so):
#   1. machine.json        the GPU, torch, the fp32 and bf16 matmul rates (ganinv perf --measure machine)
#   2. tests.log           the test suite, with GANINV_TEST_DEVICE=cuda (tests that take a device run on it;
#                          commands whose tests give no --device default to cuda there too)
#   3. fit-dcgan64.json    dreaming-step throughput of a 64x64 DCGAN at batch 256: fp32, bf16 autocast,
#                          torch.compile + bf16; FLOP/s against the bf16 matmul rate and the datasheet peak
#   4. loglik-mnist.json   loglik images/s at k = 256 for 28x28 (builtin:mnist) against its arithmetic bound
#   5. torchrun.json       a 2-process DDP fit smoke, only when two GPUs are present
# and gpu-check.json (every stage's exit code and seconds) and gpu-check.log (their stderr), all in one
# folder: $OUT when set, else runs/gpu-check-TIMESTAMP.
#
# Run from anywhere:
#   python3 -m pip install -q uv && bash benchmarks/gpu-check.sh
# The Python it runs: $GANINV_PYTHON if set; else `uv run --frozen python` (the repo's locked environment,
# when uv can build it); else the machine's own python3 with ganinv installed into it in place, without
# dependencies (an offline GPU box whose python3 already has torch). Prepare the uv environment first
# (`uv sync`) on a networked machine: downloading torch is not part of the 8 minutes.
# Without a CUDA device it writes gpu-check.json saying so and exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-runs/gpu-check-$(date +%Y%m%d-%H%M%S)}"
BUDGET="${GPU_CHECK_BUDGET:-460}"
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
: >"$LOG"
export PYTHONUNBUFFERED=1
exec 3>&2  # progress notes go to the original stderr, whatever a stage's own output is redirected to
STAGES=()  # JSON objects, one per stage

note() { echo "[gpu-check $(date +%H:%M:%S), ${SECONDS}s] $*" | tee -a "$LOG" >&3; }

record() {  # name, status, exit code, seconds, detail
  STAGES+=("{\"name\": \"$1\", \"status\": \"$2\", \"exit_code\": $3, \"seconds\": $4, \"detail\": \"$5\"}")
}

finish() {
  local joined
  joined=$(IFS=,; echo "${STAGES[*]}")
  printf '{"python": "%s", "gpus": %s, "budget_seconds": %s, "total_seconds": %s, "stages": [%s]}\n' \
    "${PY[*]:-none}" "${NGPU:-0}" "$BUDGET" "$SECONDS" "$joined" >"$OUT/gpu-check.json"
  note "wrote $OUT/gpu-check.json"
  cat "$OUT/gpu-check.json"
}

stage() {  # name, limit in seconds, command...: run it under the smaller of its limit and what the budget has left
  local name=$1 limit=$2 left start rc
  shift 2
  left=$((BUDGET - SECONDS))
  if ((left < 30)); then
    note "$name: skipped, ${left}s of the ${BUDGET}s budget left"
    record "$name" skipped null 0 "out of time budget"
    return
  fi
  ((limit > left)) && limit=$left
  note "$name: starting (limit ${limit}s)"
  start=$SECONDS
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  local status=ok
  ((rc == 124 || rc == 137)) && status=timed_out
  ((rc != 0 && status == "ok")) && status=failed
  note "$name: $status (exit $rc) in $((SECONDS - start))s"
  record "$name" "$status" "$rc" "$((SECONDS - start))" "limit ${limit}s"
}

# ---- which Python -----------------------------------------------------------------------------
PY=()
if [ -n "${GANINV_PYTHON:-}" ]; then
  read -r -a PY <<<"$GANINV_PYTHON"
else
  UV=()
  if command -v uv >/dev/null 2>&1; then
    UV=(uv)
  elif python3 -m uv --version >/dev/null 2>&1 \
    || timeout 60 python3 -m pip install -q --retries 0 --timeout 10 uv >>"$LOG" 2>&1; then
    UV=(python3 -m uv)
  fi
  if ((${#UV[@]})) && timeout 240 "${UV[@]}" run --frozen python -c "import ganinv, torch" >>"$LOG" 2>&1; then
    PY=("${UV[@]}" run --frozen python)
  elif python3 -c "import torch" >>"$LOG" 2>&1; then
    note "no uv environment; installing ganinv in place (no dependencies) into $(command -v python3)"
    python3 -c "import ganinv.adapters" >/dev/null 2>&1 \
      || timeout 120 python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . >>"$LOG" 2>&1 \
      || note "could not install ganinv into python3; its commands may fail (see $LOG)"
    PY=(python3)
  else
    note "no Python with torch: neither the uv environment nor python3 has it"
    record setup failed 1 "$SECONDS" "no Python with torch"
    finish
    exit 1
  fi
fi
note "python: ${PY[*]}"
NGPU=$("${PY[@]}" -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)" 2>>"$LOG")
NGPU=${NGPU:-0}
record setup ok 0 "$SECONDS" "python ${PY[*]}"
if ((NGPU < 1)); then
  note "no CUDA device visible to torch: nothing to check on a GPU"
  record cuda failed 1 0 "no CUDA device"
  finish
  exit 1
fi
note "$NGPU CUDA device(s)"
GANINV=("${PY[@]}" -m ganinv.cli.main)

# ---- the stages -------------------------------------------------------------------------------
stage machine 60 "${GANINV[@]}" perf --measure machine --device cuda --seconds 2 --out "$OUT/machine.json" \
  >/dev/null 2>>"$LOG"

XDIST=()
"${PY[@]}" -c "import xdist" >/dev/null 2>&1 && XDIST=(-n 8)
export GANINV_TEST_DEVICE=cuda
stage tests 180 "${PY[@]}" -m pytest -q -p no:cacheprovider "${XDIST[@]}" tests \
  >"$OUT/tests.log" 2>&1

stage fit-dcgan64 150 "${GANINV[@]}" perf --measure fit --random-dcgan 64 --batch-size 256 --steps 50 \
  --device cuda --out "$OUT/fit-dcgan64.json" >/dev/null 2>>"$LOG"

stage loglik-mnist 90 "${GANINV[@]}" perf --measure loglik -g builtin:mnist --k 256 --batch-size 256 --seconds 5 \
  --device cuda --out "$OUT/loglik-mnist.json" >/dev/null 2>>"$LOG"

if ((NGPU >= 2)); then
  DDP_RUN=$(mktemp -d)/run
  stage torchrun 120 "${PY[@]}" -m torch.distributed.run --standalone --nproc-per-node 2 -m ganinv.cli.main fit \
    -g builtin:mnist --steps 40 --batch-size 64 --eval-every 40 --checkpoint-every 40 --log-every 20 --quiet \
    --json --out "$DDP_RUN" >"$OUT/torchrun.json" 2>>"$LOG"
else
  record torchrun skipped null 0 "one GPU"
fi

finish
