# The facts about the run itself, for the report's first lines (target/bench/facts.txt): machine,
# load average before and after, seconds per row, when it was measured, at which commit and
# whether src/ or Cargo.* had uncommitted changes. Measures nothing.

facts_before() {
  local machine load
  machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  fact machine "$machine"
  fact load_before "$load"
  fact seconds_per_row "$SECONDS_PER_ROW"
  step "machine: $machine; load average $load"
}

facts_after() {
  fact measured_at "$(date -u '+%Y-%m-%d %H:%M UTC')"
  fact commit "$(git rev-parse --short HEAD)"
  fact dirty "$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock && echo 0 || echo 1)"
  fact load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
}
