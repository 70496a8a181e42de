#!/usr/bin/env bash
# TypedRpc build entry point.
#   ./build.sh test    install prerequisites, build in Release, run every test project, then the
#                      Redis store tests again on StackExchange.Redis 3.x; the last line is
#                      "tests: N passed, N failed, N skipped".
#   ./build.sh test-reliability   the fault tests (R1-R7, S1) at full size; same last line.
#   ./build.sh demo    run the quickstart (embedded Kafka mock cluster + embedded Garnet as Redis);
#                      ./build.sh demo --help lists its options (real servers, one role per process,
#                      --transport mqtt: the same over a mosquitto it installs and starts).
#   ./build.sh bench   run the benchmarks.
#   ./build.sh public-api   rewrite each library's PublicAPI.Unshipped.txt from its code.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
CONFIGURATION="${CONFIGURATION:-Release}"

# Debian packages the tests need: redis-server, mosquitto (the MQTT broker of the MQTT transport's
# tests) and clang (the linker Native AOT publishes with: tests/TypedRpc.AotTests). Each package's
# name is also the name of the executable it installs. (The native Kafka client
# comes with the Confluent.Kafka package; a system librdkafka is neither needed nor used: README
# "Prerequisites".)
APT_PACKAGES=(redis-server mosquitto clang)

log() { printf '==> %s\n' "$*" >&2; }

# Whether executable $1 is on PATH or in a system directory a user's PATH may lack (Debian installs
# mosquitto in /usr/sbin); the tests' LocalRedisServer and LocalMosquitto look in the same places.
has_executable() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local dir
  for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
    [ -x "$dir/$1" ] && return 0
  done
  return 1
}

# Installs the given Debian packages (default: APT_PACKAGES) that are missing.
ensure_apt_packages() {
  local wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${APT_PACKAGES[@]}")
  local missing=()
  for pkg in "${wanted[@]}"; do
    # Installed through dpkg, or by other means (built from source, a container image's own copy).
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && ! has_executable "$pkg"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  log "installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      log "need root (or sudo) to install: ${missing[*]}"; return 1
    fi
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || log "apt-get update failed; trying the install anyway"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  for pkg in "${missing[@]}"; do
    has_executable "$pkg" || { log "$pkg was installed but no $pkg executable was found"; return 1; }
  done
}

ensure_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    log "the .NET SDK (10.0) is required: https://dotnet.microsoft.com/download"
    return 1
  fi
}

# Sums the counters of every TRX file in $1 and prints "passed failed skipped".
sum_trx() {
  local dir="$1" passed=0 failed=0 skipped=0
  shopt -s nullglob
  for trx in "$dir"/*.trx; do
    local counters
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1)"
    local p f n
    p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
    f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
    n="$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")"
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
  done
  echo "$passed $failed $skipped"
}

cmd_test() {
  ensure_dotnet
  ensure_apt_packages
  local results="$ROOT/.artifacts/test-results"
  rm -rf "$results"; mkdir -p "$results"

  log "building ($CONFIGURATION)"
  if ! dotnet build "$ROOT/TypedRpc.sln" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly >&2; then
    log "build failed"
    echo "tests: 0 passed, 1 failed, 0 skipped"
    return 1
  fi

  local projects crashed=0
  mapfile -t projects < <(grep -l '<IsTestProject>true</IsTestProject>' tests/*/*.csproj | sort)
  for project in "${projects[@]}"; do
    local name; name="$(basename "$project" .csproj)"
    log "testing $name"
    local before; before="$(find "$results" -name '*.trx' | wc -l)"
    dotnet test "$project" -c "$CONFIGURATION" --no-build -nologo \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results" >&2 || true
    if [ "$(find "$results" -name '*.trx' | wc -l)" -eq "$before" ]; then
      log "$name produced no results (crashed or failed to start)"
      crashed=$((crashed + 1))
    fi
  done

  test_redis_store_on "$NEWEST_STACKEXCHANGE_REDIS" "$results" || crashed=$((crashed + 1))

  local passed failed skipped
  read -r passed failed skipped < <(sum_trx "$results")
  failed=$((failed + crashed))
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

# TypedRpc.Redis declares the oldest StackExchange.Redis it supports (Directory.Packages.props) and
# is built against it above; this is the newest one it is tested on as well.
NEWEST_STACKEXCHANGE_REDIS=3.4.35

# Builds the integration tests against StackExchange.Redis $1 into an output of their own (the main
# build is left as it is) and runs the Redis store tests there, writing their TRX file into $2.
test_redis_store_on() {
  local version="$1" results="$2"
  local artifacts="$ROOT/.artifacts/stackexchange-redis-$version"
  local project="tests/TypedRpc.IntegrationTests/TypedRpc.IntegrationTests.csproj"
  log "building the integration tests against StackExchange.Redis $version"
  if ! dotnet build "$project" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly \
      -p:StackExchangeRedisVersion="$version" --artifacts-path "$artifacts" >&2; then
    log "build against StackExchange.Redis $version failed"
    return 1
  fi
  # The run must really be on that version, not on a copy of the main build.
  if ! grep -rqs --include=TypedRpc.IntegrationTests.deps.json "\"StackExchange.Redis/$version\"" "$artifacts/bin"; then
    log "the build in $artifacts does not use StackExchange.Redis $version"
    return 1
  fi

  log "testing the Redis store on StackExchange.Redis $version"
  local before; before="$(find "$results" -name '*.trx' | wc -l)"
  dotnet test "$project" -c "$CONFIGURATION" --no-build -nologo --artifacts-path "$artifacts" \
    -p:StackExchangeRedisVersion="$version" \
    --filter "FullyQualifiedName~TypedRpc.IntegrationTests.Redis." \
    --logger "trx;LogFileName=TypedRpc.IntegrationTests.Redis-StackExchange.Redis-$version.trx" \
    --logger "console;verbosity=minimal" --results-directory "$results" >&2 || true
  if [ "$(find "$results" -name '*.trx' | wc -l)" -eq "$before" ]; then
    log "the Redis store tests on StackExchange.Redis $version produced no results (crashed or failed to start)"
    return 1
  fi
}

# The reliability tests at the sizes of issue 8 (10,000 calls, 1,000,000 timeouts, ...): too slow
# for every run, so ./build.sh test runs them reduced. Each prints its figures as "[Rn] ..." lines.
cmd_test_reliability() {
  ensure_dotnet
  ensure_apt_packages
  local results="$ROOT/.artifacts/reliability-results"
  rm -rf "$results"; mkdir -p "$results"
  log "building ($CONFIGURATION)"
  if ! dotnet build "$ROOT/TypedRpc.sln" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly >&2; then
    log "build failed"
    echo "tests: 0 passed, 1 failed, 0 skipped"
    return 1
  fi

  local crashed=0
  TYPEDRPC_RELIABILITY_FULL=1 dotnet test tests/TypedRpc.IntegrationTests/TypedRpc.IntegrationTests.csproj -c "$CONFIGURATION" --no-build -nologo \
    --filter "FullyQualifiedName~TypedRpc.IntegrationTests.Reliability." \
    --logger "trx;LogFileName=reliability.trx" --logger "console;verbosity=detailed" \
    --results-directory "$results" 2>&1 | tee "$results/output.txt" >&2 || true
  if [ "$(find "$results" -name '*.trx' | wc -l)" -eq 0 ] || grep -q "Test Run Aborted" "$results/output.txt"; then
    log "the reliability tests produced no results (crashed or failed to start)"
    crashed=1
  fi

  local passed failed skipped
  read -r passed failed skipped < <(sum_trx "$results")
  failed=$((failed + crashed))
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

# Restores and builds the quickstart step by step (about 45 s on a clean clone with an empty NuGet cache: README "Two
# commands"), printing a line per step and per project built, then runs it.
cmd_demo() {
  # The demo's Redis is Garnet inside its own process and its Kafka librdkafka's mock cluster;
  # only --transport mqtt without --mqtt needs a package: the mosquitto it starts.
  ensure_dotnet
  local arg previous="" mqtt_transport=0 mqtt_broker=0
  for arg in "$@"; do
    { [ "$previous" = "--transport" ] && [ "${arg,,}" = "mqtt" ]; } || [ "${arg,,}" = "--transport=mqtt" ] && mqtt_transport=1
    case "$arg" in --mqtt|--mqtt=*) mqtt_broker=1 ;; esac
    previous="$arg"
  done
  if [ "$mqtt_transport" -eq 1 ] && [ "$mqtt_broker" -eq 0 ]; then
    ensure_apt_packages mosquitto
  fi
  local project="$ROOT/samples/Quickstart/Quickstart.csproj"
  local output="$ROOT/.artifacts/demo-build.log"
  mkdir -p "$ROOT/.artifacts"

  log "restoring packages (a first run with an empty NuGet cache downloads ~134 MB, ~550 MB in the cache)"
  if ! dotnet restore "$project" -nologo -tl:off -v:q >"$output" 2>&1; then
    cat "$output" >&2
    log "restore failed"
    return 1
  fi

  log "building the quickstart and the libraries it uses ($CONFIGURATION; a first run takes ~35 s on 2 cores)"
  # One line per project as it is built ("  TypedRpc -> .../TypedRpc.dll" in MSBuild's output).
  if ! dotnet build "$project" -c "$CONFIGURATION" --no-restore -nologo -tl:off -v:m 2>&1 \
      | tee "$output" | sed -un 's|^ *\([A-Za-z0-9_.]*\) -> .*|    built \1|p' >&2; then
    grep -E ': (error|warning) ' "$output" | sort -u >&2 || cat "$output" >&2
    log "build failed (full output: $output)"
    return 1
  fi

  log "running the quickstart"
  # Options after "demo" go to the sample: ./build.sh demo --help lists them.
  dotnet run --project "$project" -c "$CONFIGURATION" --no-build -- "$@"
}

cmd_bench() {
  ensure_dotnet
  if [ ! -f "$ROOT/tests/TypedRpc.Benchmarks/TypedRpc.Benchmarks.csproj" ]; then
    log "the benchmarks do not exist yet"
    return 1
  fi
  ensure_apt_packages
  dotnet run --project "$ROOT/tests/TypedRpc.Benchmarks/TypedRpc.Benchmarks.csproj" -c Release -- "$@"
}

# The libraries in dependency order (a project's references are listed before it).
PUBLIC_API_PROJECTS=(TypedRpc.Abstractions TypedRpc TypedRpc.Redis TypedRpc.Kafka TypedRpc.AspNetCore TypedRpc.DevServices TypedRpc.Mqtt)

# After an intended change to a library's public surface: lists every public symbol of each library
# that PublicAPI.Shipped.txt does not, in PublicAPI.Unshipped.txt (review the diff, then commit it).
cmd_public_api() {
  ensure_dotnet
  local name
  for name in "${PUBLIC_API_PROJECTS[@]}"; do
    local dir="$ROOT/src/$name" project="$ROOT/src/$name/$name.csproj"
    printf '#nullable enable\n' >"$dir/PublicAPI.Unshipped.txt"
    log "listing the public API of $name"
    # RS0016 names each public symbol the files do not list, in the files' own format.
    local symbols
    symbols="$(dotnet build "$project" -c "$CONFIGURATION" -nologo --no-incremental -clp:NoSummary \
        -p:WarningsNotAsErrors=RS0016 2>&1 \
      | grep -F "[$project]" \
      | sed -n "s/.* warning RS0016: Symbol '\(.*\)' is not part of the declared public API.*/\1/p" \
      | LC_ALL=C sort -u)" || true
    if [ -n "$symbols" ]; then
      printf '%s\n' "$symbols" >>"$dir/PublicAPI.Unshipped.txt"
    fi
  done
  log "checking that every library builds against its lists"
  for name in "${PUBLIC_API_PROJECTS[@]}"; do
    dotnet build "$ROOT/src/$name/$name.csproj" -c "$CONFIGURATION" -nologo -clp:ErrorsOnly >&2
  done
}

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  test-reliability) shift; cmd_test_reliability "$@" ;;
  demo) shift; cmd_demo "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  public-api) shift; cmd_public_api "$@" ;;
  -h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
