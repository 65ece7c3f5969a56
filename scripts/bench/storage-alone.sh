# storage_alone_rows: what the storage calls of /api/me and the session list cost alone on this
# machine: bench/storage-alone.mjs answers them in plain JS on the same bindings and state (KV get ∥
# D1 query; ∥ KV list and D1 batch), and its own 404, so the read rows can be read against the local
# simulators' share. Four c=1 lines of rows.tsv in target/bench/; restarts the worker afterwards.

storage_alone_rows() {
  step "storage alone (bench/storage-alone.mjs), c=1"
  worker_stop
  start_entry storage-alone storage-alone
  curl -s -o /dev/null -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/bench/storage/me"
  BENCH_EXPECT_STATUS=404 BENCH_PATH_OF_ROW=/bench/storage/floor row "storage alone (JS): no storage, 404" 1
  BENCH_PATH_OF_ROW=/bench/storage/me row "storage alone (JS): KV get ∥ D1 query, as GET /api/me" 1 \
    BENCH_COOKIE="$TOKEN_ONE"
  BENCH_PATH_OF_ROW=/bench/storage/list row "storage alone (JS): KV get ∥ KV list ∥ D1 batch, as the session list (1)" 1 \
    BENCH_COOKIE="$TOKEN_ONE"
  BENCH_PATH_OF_ROW=/bench/storage/list row "storage alone (JS): KV get ∥ KV list ∥ D1 batch, as the session list (50)" 1 \
    BENCH_COOKIE="$TOKEN_FIFTY"
  worker_stop
  start_worker
  curl -s -o /dev/null -H "Cookie: __Host-session=$TOKEN_ONE" "$BASE/api/me"
}
