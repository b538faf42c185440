#!/usr/bin/env bash
# Runs every test of the project: what CI runs (.ci/run), and what a developer runs on a fresh
# Debian machine (as root, or with sudo for the one-time package install).
#
#   1. installs what the tests need, once: Debian's zookeeper + zookeeper-bin (the reference
#      server and zkCli.sh), kafkacat, chromium + chromium-driver (the web console's browser
#      test) and the Python packages in tests/python/requirements.txt;
#   2. cargo fmt --check, clippy -D warnings, builds the ferry binary (target/debug/ferry);
#   3. cargo test --workspace, then the Python compatibility, differential, crash and
#      adversarial tests (python -m pytest tests/python; extra arguments to this script go to
#      pytest);
#   4. every fuzz target for FUZZ_SECONDS (default 10) each (scripts/fuzz.sh; FUZZ_SECONDS=0
#      skips them).
#
# Every stage after the build runs even when an earlier one failed; the script exits non-zero
# if any failed, naming them. Environment: PYTHON (default python3), FERRY_BIN (default
# target/debug/ferry), SKIP_INSTALL=1 to skip step 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
APT_PACKAGES=(zookeeper zookeeper-bin kafkacat chromium chromium-driver)
FAILED=()

section() { printf '\n===== %s =====\n' "$*"; }

# Runs one stage; a failure is recorded and reported at the end instead of stopping the run.
stage() {
  local name=$1
  shift
  section "$name"
  local started=$SECONDS
  if "$@"; then
    echo "-- $name: ok ($((SECONDS - started))s)"
  else
    echo "-- $name: FAILED ($((SECONDS - started))s)"
    FAILED+=("$name")
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_debian_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    echo "already installed: ${APT_PACKAGES[*]}"
    return
  fi
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "$PYTHON" -m pip install -q -r tests/python/requirements.txt
}

python_tests() {
  local status=0
  # Three workers, one test file each at a time: most tests wait on servers rather than
  # compute, so this takes about a third of a serial run on two cores. (PYTEST_WORKERS=0 runs
  # them serially.)
  local workers=(-n "${PYTEST_WORKERS:-3}" --dist loadfile)
  [[ ${PYTEST_WORKERS:-3} == 0 ]] && workers=()
  FERRY_BIN=${FERRY_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/ferry} \
    "$PYTHON" -m pytest tests/python "${workers[@]}" --durations=15 "$@" \
    || status=$?
  if ((status == 5)); then
    echo "pytest collected no tests (exit 5): nothing to run yet"
    return 0
  fi
  return "$status"
}

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
  section "install test dependencies"
  install_debian_packages
  install_python_packages
fi

section "build the ferry binary"
cargo build -p ferry

stage "cargo fmt --check" cargo fmt --all -- --check
stage "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
stage "cargo test" cargo test --workspace --no-fail-fast
stage "python tests" python_tests "$@"
if [[ ${FUZZ_SECONDS:-10} != 0 ]]; then
  stage "fuzz targets (${FUZZ_SECONDS:-10}s each)" bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi

section "summary"
if ((${#FAILED[@]})); then
  echo "failed stages: ${FAILED[*]}"
  exit 1
fi
echo "all stages passed"
