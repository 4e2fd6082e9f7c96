// bench/run.sh, section 3: graphile-worker (the version pinned in package-lock.json) on the
// same PostgreSQL as orchestratord, no-op jobs.
//
//   node bench.mjs CONNSTRING CONCURRENCY JOBS MODE
//
// MODE "defaults": graphile-worker's defaults but the concurrency; "batched": its documented
// batching options (https://worker.graphile.org/docs/performance#batching): a local queue
// fetched in batches and job completions batched. The jobs are queued first (one SQL
// statement, not timed), then the worker starts; jobs/s = completions between the first and
// the last completion / that time. Prints one RESULT line.
import { Pool } from "pg";
import { Logger, run, runMigrations } from "graphile-worker";

// Quiet: a log line per job would cost more than the job.
const logger = new Logger(() => () => {});

const [connectionString, concArg, jobsArg, mode] = process.argv.slice(2);
const concurrency = Number(concArg);
const jobs = Number(jobsArg);
if (!connectionString || !(concurrency > 0) || !(jobs > 1) || !["defaults", "batched"].includes(mode)) {
  console.error("usage: node bench.mjs CONNSTRING CONCURRENCY JOBS defaults|batched");
  process.exit(2);
}

const preset =
  mode === "batched"
    ? {
        worker: {
          // No-op jobs are the "very high throughput and extremely fast tasks" the
          // documentation names for a local queue much larger than concurrency + 1.
          localQueue: { size: Math.max(100, concurrency + 1) },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      }
    : {};

const pool = new Pool({ connectionString, max: concurrency + 2 });
pool.on("error", (e) => console.error("pool:", e.message));
await runMigrations({ pgPool: pool, logger });
await pool.query("DELETE FROM graphile_worker._private_jobs");
await pool.query(
  "SELECT graphile_worker.add_jobs(array(SELECT ROW('noop', '{}'::json, NULL, NULL, NULL, NULL, NULL, NULL)" +
    "::graphile_worker.job_spec FROM generate_series(1, $1)))",
  [jobs],
);

let done = 0;
let first = 0;
let last = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));
const runner = await run({
  pgPool: pool,
  concurrency,
  noHandleSignals: true,
  pollInterval: 2000,
  preset,
  taskList: { noop: async () => {} },
  logger,
});
runner.events.on("job:success", () => {
  const now = performance.now();
  if (done === 0) first = now;
  last = now;
  if (++done === jobs) finish();
});
const timeout = setTimeout(() => finish(), 240000);
await finished;
clearTimeout(timeout);
await runner.stop();
await pool.end();
const seconds = (last - first) / 1000;
console.log(
  `RESULT mode=${mode} concurrency=${concurrency} jobs=${jobs} completed=${done} ` +
    `seconds=${seconds.toFixed(3)} jobs_per_s=${((done - 1) / seconds).toFixed(1)}`,
);
process.exit(done === jobs ? 0 : 2);
