#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one go, fast ones first; one PASS/FAIL line per item.
#
#   scripts/gpu_check.sh [OUT_DIR [ITEM...]]   (default: gpu-check/, every item; from the repository root)
#
# Items, in order (about 10 minutes on one GPU before full_suite): environment, child_on_cuda
# (and, if the jail refused the driver, seccomp_log and child_on_cuda_rlimits), device_tests,
# cuda_failures, references_cuda, references_all, refuses_nothing, benchmark, full_suite.
# Name some to run only those (a session with 10-minute calls runs full_suite on its own).
#
# Needs the project installed with a CUDA build of torch (`pip install torch==2.13.0` from
# PyPI is one; the CPU build is not). Each item has a time limit, so a hang costs that item
# only; everything each item printed is kept in OUT_DIR/<item>.log and the summary in
# OUT_DIR/summary.txt. Exit status: the number of failed items.
set -u
OUT=${1:-gpu-check}
shift $(( $# > 0 ? 1 : 0 ))
ONLY=" $* "
mkdir -p "$OUT"
PY=${PYTHON:-python}
failed=0
: > "$OUT/summary.txt"

item() {   # item NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then return 0; fi
  local start=$SECONDS
  timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local verdict=PASS
  if [ $rc -ne 0 ]; then verdict="FAIL (exit $rc$([ $rc -eq 124 ] && echo ', timed out'))"; failed=$((failed + 1)); fi
  printf '%-28s %s  %ds\n' "$name" "$verdict" $((SECONDS - start)) | tee -a "$OUT/summary.txt"
}

refs() {   # refs DEVICE: grade every PyTorch reference on DEVICE, with results.json
  local device=$1 rc=0
  for pair in 01_softmax:softmax 02_multihead:multihead 03_encoder_decoder:encoder_decoder; do
    local ex=${pair%%:*} ref=${pair##*:}
    grade "exercises/$ex" --submission "attention_reference/$ref.py" --device "$device" \
      --results-json "$OUT/$ex.$device.json" --report-dir "$OUT/reports" || rc=1
  done
  return $rc
}

item environment        60  $PY -c "
import os, torch
os.environ['PYTORCH_NVML_BASED_CUDA_CHECK'] = '1'
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'available', torch.cuda.is_available())
assert torch.cuda.is_available(), 'no CUDA device that PyTorch can use'
print(torch.cuda.get_device_name(0))
from grader.run import devices; print('driver libraries', devices.driver_libraries())
from grader.sandbox import probe; print('isolation', probe.strongest_available())"
item child_on_cuda      120 grade exercises/01_softmax --submission attention_reference/softmax.py --device cuda -q \
                            --report-dir "$OUT/reports"
if [ -s "$OUT/summary.txt" ] && tail -1 "$OUT/summary.txt" | grep -q "^child_on_cuda .*FAIL"; then   # the jail refused the driver: what would the filter refuse?
  item seccomp_log      120 env GRADE_SECCOMP_LOG=1 grade exercises/01_softmax --submission attention_reference/softmax.py \
                            --device cuda -q --report-dir "$OUT/reports"
  (dmesg 2>/dev/null || journalctl -k 2>/dev/null) | grep -E "type=1326|seccomp" | tail -50 > "$OUT/seccomp_refused.log"
  item child_on_cuda_rlimits 120 grade exercises/01_softmax --submission attention_reference/softmax.py --device cuda \
                            --isolation rlimits -q --report-dir "$OUT/reports"
fi
item device_tests       420 $PY -m pytest -q -n 0 -rs tests/sandbox/test_cuda_jail.py tests/grader/run/test_devices.py \
                            tests/grader/kit/test_device_errors.py tests/test_corpus_device.py tests/reference/test_device_safe.py
item cuda_failures      300 $PY -m pytest -q -n 0 -rs tests/sandbox/test_cuda_failures.py
item references_cuda    500 refs cuda
item references_all     600 refs all
item refuses_nothing    60  $PY -c "
from click.testing import CliRunner; from grader import cli
r = CliRunner().invoke(cli.main, ['exercises/01_softmax', '--device', 'cuda', '--quiet', '--report-dir', '$OUT/reports',
                                  '--submission', 'attention_reference/softmax.py'])
print(r.output); assert r.exit_code == 0, r.exit_code"
item benchmark          600 $PY benchmarks/gpu.py --grade
item full_suite         1800 $PY -m pytest -q
echo "failed: $failed" | tee -a "$OUT/summary.txt"
exit $failed
