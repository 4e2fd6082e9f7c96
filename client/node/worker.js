// The step worker for Node: the same shape as the Python library (client/python): a
// StreamTasks session with reconnect and back-off, at most `capacity` tasks at once (the
// server sends no more), heartbeats, answers with their own status, and a graceful stop.
// Built on @grpc/grpc-js and @grpc/proto-loader, which read proto/ at run time (no code
// generation).
//
//   const { Worker, StepFailed } = require('./client/node/worker');
//   const worker = new Worker('127.0.0.1:50051', { name: 'node-worker', token });
//   worker.step('network.audit', async (state, task) => ({ audited: true }));
//   await worker.run();   // until worker.stop() (or SIGTERM / SIGINT)
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEFAULT_PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');

// Fail a step with it: reason (UPPER_SNAKE), a message for people, retryable (another
// attempt after the step's back-off while attempts are left) and details. Any other error a
// step throws is a retryable failure WORKER_EXCEPTION.
class StepFailed extends Error {
  constructor(reason, message, { retryable = false, details = {} } = {}) {
    super(message || reason);
    this.reason = reason;
    this.retryable = retryable;
    this.details = details;
  }
}

// ---- google.protobuf.Struct <-> plain objects -------------------------------------------

function toValue(v) {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v) };
  return { stringValue: String(v) };
}

function toStruct(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj || {})) fields[k] = toValue(v);
  return { fields };
}

function fromValue(v) {
  switch (v && v.kind) {
    case 'numberValue': return v.numberValue;
    case 'stringValue': return v.stringValue;
    case 'boolValue': return v.boolValue;
    case 'listValue': return (v.listValue.values || []).map(fromValue);
    case 'structValue': return fromStruct(v.structValue);
    default: return null;
  }
}

function fromStruct(s) {
  const out = {};
  for (const [k, v] of Object.entries((s && s.fields) || {})) out[k] = fromValue(v);
  return out;
}

function seconds(duration) {
  return duration ? Number(duration.seconds || 0) + (duration.nanos || 0) / 1e9 : 0;
}

function loadService(protoDir) {
  const def = protoLoader.loadSync('orchestrator/v1/workers.proto', {
    includeDirs: [protoDir, '/usr/include', '/usr/share/grpc-proto'],
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  return grpc.loadPackageDefinition(def).orchestrator.v1.StepWorkerService;
}

// What a step function gets as its second argument: the delivery it runs.
class Task {
  constructor(worker, pb) {
    this._worker = worker;
    this.taskId = pb.task_id;
    this.processId = pb.process_id;
    this.stepKey = pb.step_key;
    this.stepName = pb.step_name;
    this.taskType = pb.task_type;
    this.workflowName = pb.workflow_name;
    this.attempt = pb.attempt;
    this.attemptToken = pb.attempt_token;
    this.secretsIncluded = pb.secrets_included;
    this.deadline = pb.deadline_time ? new Date(Number(pb.deadline_time.seconds) * 1000) : null;
  }

  // Reports progress (shown in the process's events) and renews the lease.
  progress(message, progress = {}) {
    return this._worker._call('ReportTaskProgress', {
      task_id: this.taskId, attempt_token: this.attemptToken, message,
      progress: toStruct(progress),
    });
  }
}

class Worker {
  // target: "host:port"; options: name (for people and the audit log), capacity (tasks at
  // once), token (a bearer token with the worker role; none when the server runs without
  // authentication), credentials (grpc.credentials.createSsl() for TLS), protoDir,
  // backoffInitial / backoffMax (seconds), log (a function; default: stderr).
  constructor(target, options = {}) {
    this.target = target;
    this.name = options.name || 'node-worker';
    this.capacity = Math.max(1, options.capacity | 0 || 1);
    this.token = options.token || null;
    this.credentials = options.credentials || grpc.credentials.createInsecure();
    this.backoffInitial = options.backoffInitial || 0.1;
    this.backoffMax = options.backoffMax || 10;
    this.log = options.log || ((msg) => process.stderr.write(`orchestrator-worker: ${msg}\n`));
    this._Service = loadService(options.protoDir || process.env.ORCH_PROTO_DIR ||
                                DEFAULT_PROTO_DIR);
    this._steps = new Map();
    this._stopping = false;
    this._inflight = new Set();
    this._stream = null;
    this._client = null;
    this.workerId = null;
    this.completed = 0; // answers accepted
    this.refused = 0;   // answers refused (late or repeated)
  }

  // fn(state, task) runs tasks of taskType (it may be async) and returns the state delta
  // (an object; undefined = no change).
  step(taskType, fn) {
    this._steps.set(taskType, fn);
    return this;
  }

  _metadata() {
    const md = new grpc.Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  // A unary call with its own status; retried while the server is unavailable.
  async _call(method, request, attempts = 5) {
    let delay = this.backoffInitial;
    for (let i = 0; ; i++) {
      try {
        return await new Promise((resolve, reject) => {
          this._client[method](request, this._metadata(), { deadline: Date.now() + 10000 },
                               (err, resp) => (err ? reject(err) : resolve(resp)));
        });
      } catch (err) {
        if (err.code !== grpc.status.UNAVAILABLE || i >= attempts - 1) throw err;
        await new Promise((r) => setTimeout(r, delay * 1000));
        delay = Math.min(delay * 2, this.backoffMax);
      }
    }
  }

  async _runTask(pb) {
    const task = new Task(this, pb);
    const fn = this._steps.get(pb.task_type);
    try {
      if (!fn) throw new StepFailed('NO_STEP_FUNCTION', `this worker has no step for ${pb.task_type}`);
      const delta = await fn(fromStruct(pb.state), task);
      if (delta !== undefined && delta !== null && (typeof delta !== 'object' || Array.isArray(delta)))
        throw new StepFailed('BAD_RESULT', 'the step returned something other than an object');
      await this._call('CompleteTask', {
        task_id: pb.task_id, attempt_token: pb.attempt_token, state_delta: toStruct(delta || {}),
      });
      this.completed++;
      this.log(`task ${pb.task_id} (${pb.task_type}, process ${pb.process_id}, attempt ` +
               `${pb.attempt}) completed`);
    } catch (err) {
      if (err instanceof StepFailed) {
        await this._fail(pb, err.reason, err.message, err.retryable, err.details);
      } else if (err && typeof err.code === 'number' && err.metadata) {
        this._refused(pb, err);
      } else {
        await this._fail(pb, 'WORKER_EXCEPTION', String(err && err.stack || err).slice(0, 2000),
                         true, {});
      }
    }
  }

  async _fail(pb, reason, message, retryable, details) {
    try {
      await this._call('FailTask', {
        task_id: pb.task_id, attempt_token: pb.attempt_token, retryable, reason,
        message: message || reason, details: toStruct(details),
      });
      this.log(`task ${pb.task_id} failed (${reason}, retryable ${retryable})`);
    } catch (err) {
      this._refused(pb, err);
    }
  }

  _refused(pb, err) {
    this.refused++;
    this.log(`task ${pb.task_id} attempt ${pb.attempt}: answer refused: ${err.code} ${err.details}`);
  }

  // One StreamTasks call; resolves when it ended (true when it had connected).
  _session() {
    return new Promise((resolve) => {
      let connected = false;
      let heartbeat = null;
      const stream = this._client.StreamTasks(
        { worker_name: this.name, task_types: [...this._steps.keys()], capacity: this.capacity },
        this._metadata());
      this._stream = stream;
      const done = () => {
        // A graceful stop keeps the running tasks' leases until they answered.
        const hb = heartbeat;
        if (hb) Promise.allSettled([...this._inflight]).then(() => clearInterval(hb));
        this._stream = null;
        resolve(connected);
      };
      stream.on('data', (msg) => {
        if (msg.event === 'session') {
          connected = true;
          this.workerId = msg.session.worker_id;
          const every = Math.max(seconds(msg.session.heartbeat_interval), 0.05);
          this.log(`connected as ${this.workerId} to replica ${msg.session.replica_id} ` +
                   `(heartbeat every ${every.toFixed(2)} s)`);
          heartbeat = setInterval(() => {
            this._call('Heartbeat', { worker_id: this.workerId }, 1).catch((err) => {
              this.log(`heartbeat: ${err.code} ${err.details}`);
              if (err.code === grpc.status.NOT_FOUND) stream.cancel(); // forgotten: reconnect
            });
          }, every * 1000);
        } else if (msg.event === 'task') {
          const p = this._runTask(msg.task).finally(() => this._inflight.delete(p));
          this._inflight.add(p);
        }
      });
      stream.on('error', (err) => {
        if (!this._stopping) this.log(`task stream ended: ${err.code} ${err.details}`);
        done();
      });
      stream.on('end', done);
    });
  }

  // Serves until stop() (or SIGTERM / SIGINT when handleSignals): reconnects with exponential
  // back-off and jitter; on stop takes no new task, finishes and answers the running ones,
  // then resolves.
  async run({ handleSignals = true } = {}) {
    if (this._steps.size === 0) throw new Error('no step declared: use worker.step(taskType, fn)');
    const onSignal = () => this.stop();
    if (handleSignals) {
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    }
    this._client = new this._Service(this.target, this.credentials,
                                     { 'grpc.enable_http_proxy': 0 });
    let delay = this.backoffInitial;
    try {
      while (!this._stopping) {
        const connected = await this._session();
        if (this._stopping) break;
        if (connected) delay = this.backoffInitial;
        const wait = delay * (0.5 + Math.random());
        this.log(`reconnecting in ${wait.toFixed(2)} s`);
        await new Promise((r) => { this._wake = r; setTimeout(r, wait * 1000); });
        delay = Math.min(delay * 2, this.backoffMax);
      }
      await Promise.allSettled([...this._inflight]); // the running tasks finish and answer
    } finally {
      if (handleSignals) {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
      }
      this._client.close();
      this.log(`stopped: ${this.completed} answers accepted, ${this.refused} refused`);
    }
  }

  // Graceful stop: no new tasks; run() resolves once the running ones answered.
  stop() {
    this._stopping = true;
    if (this._stream) this._stream.cancel();
    if (this._wake) this._wake();
  }
}

module.exports = { Worker, StepFailed, Task, toStruct, fromStruct };
