#!/usr/bin/env node
// Interop test: the issue 9 client scenario with a Node client, @grpc/grpc-js and
// @grpc/proto-loader from npm. No code generation: proto-loader reads proto/ at run time.
// protobufjs (the library proto-loader is built on) decodes the google.rpc.Status of an
// error from the grpc-status-details-bin trailer.
//
// The same scenario as tests/interop/python/test_scenario.py: list products; create_node;
// create_port through its two form pages (and one refused answer, decoded); watch it to
// completion; read the port (active, in sync); terminate_port, answering its confirm_removal
// input step with ResumeProcess while watching; the port is terminated.
//
// Usage: node scenario.js HOST:PORT   (tests/interop/node/run_scenario.py starts the server)
// Exit status 0 when every check passed, 1 otherwise.
'use strict';

const path = require('path');
const assert = require('assert/strict');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'proto');
const INCLUDE_DIRS = [PROTO_DIR, '/usr/include', '/usr/share/grpc-proto'];
const RPC_TIMEOUT_MS = 10000;
const WATCH_TIMEOUT_MS = 60000;
const CUSTOMER = 'acme-interop-node';

function log(msg) {
  process.stderr.write(`interop_node_scenario: ${msg}\n`);
}

// ---- loading the contract ----------------------------------------------------------------

const packageDefinition = protoLoader.loadSync(
  ['orchestrator/v1/products.proto', 'orchestrator/v1/processes.proto',
   'orchestrator/v1/subscriptions.proto'],
  {
    includeDirs: INCLUDE_DIRS,
    keepCase: true,   // field names as in the .proto files (snake_case)
    longs: String,    // int64 as decimal strings
    enums: String,    // enum values by name, e.g. "PROCESS_STATUS_COMPLETED"
    defaults: true,   // unset scalars as their defaults
    oneofs: true,     // the name of the set oneof member, e.g. resp.result === 'next_page'
  });
const v1 = grpc.loadPackageDefinition(packageDefinition).orchestrator.v1;

// google.rpc.Status / ErrorInfo / BadRequest / RetryInfo with protobufjs.
const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (origin, target) => {
  for (const dir of INCLUDE_DIRS) {
    const p = path.join(dir, target);
    try {
      require('fs').accessSync(p);
      return p;
    } catch (e) { /* next include dir */ }
  }
  return protobuf.util.path.resolve(origin, target);
};
rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'],
                 {keepCase: true});
const Status = rpcRoot.lookupType('google.rpc.Status');
const DETAIL_TYPES = Object.fromEntries(
  ['ErrorInfo', 'BadRequest', 'RetryInfo'].map(
    (n) => [`type.googleapis.com/google.rpc.${n}`, rpcRoot.lookupType(`google.rpc.${n}`)]));

// Decodes the rich error of a failed call: {code, message, details: [{type, ...fields}]}.
function richError(err) {
  const bin = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
  if (!bin) return null;
  const st = Status.decode(bin);
  const details = st.details.map((any) => {
    const type = DETAIL_TYPES[any.type_url];
    const body = type ? type.toObject(type.decode(any.value), {defaults: true}) : {};
    return {type: any.type_url.replace(/^.*\//, ''), ...body};
  });
  return {code: st.code, message: st.message, details};
}

// ---- google.protobuf.Struct <-> plain JavaScript ---------------------------------------
// proto-loader takes google/protobuf/*.proto from protobufjs's bundled copies, whose field
// names are camelCase even with keepCase: Value is {stringValue: ...}, not {string_value}.

function toValue(v) {
  if (v === null || v === undefined) return {nullValue: 'NULL_VALUE'};
  if (typeof v === 'number') return {numberValue: v};
  if (typeof v === 'string') return {stringValue: v};
  if (typeof v === 'boolean') return {boolValue: v};
  if (Array.isArray(v)) return {listValue: {values: v.map(toValue)}};
  return {structValue: toStruct(v)};
}

function toStruct(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return {fields};
}

function fromValue(v) {
  switch (v.kind) {
    case 'nullValue': return null;
    case 'numberValue': return v.numberValue;
    case 'stringValue': return v.stringValue;
    case 'boolValue': return v.boolValue;
    case 'listValue': return (v.listValue.values || []).map(fromValue);
    case 'structValue': return fromStruct(v.structValue);
    default: return undefined;
  }
}

function fromStruct(s) {
  const out = {};
  for (const [k, v] of Object.entries((s && s.fields) || {})) out[k] = fromValue(v);
  return out;
}

// The "enum" (choices) of one field of a FormPage's JSON Schema.
function formChoices(page, field) {
  const schema = fromStruct(page && page.form);
  return ((schema.properties || {})[field] || {}).enum || [];
}

// ---- calls ---------------------------------------------------------------------------------

function deadline(ms) {
  return new Date(Date.now() + ms);
}

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, {deadline: deadline(RPC_TIMEOUT_MS)}, (err, resp) => {
      if (err) reject(err);
      else resolve(resp);
    });
  });
}

// Follows one process from its snapshot to the end of the stream. onSuspended(form) is
// awaited when the process waits for an input step; it must resume it. Returns the events.
function watch(procs, processId, onSuspended) {
  return new Promise((resolve, reject) => {
    const call = procs.WatchProcess({process_id: processId, after_sequence: '0'},
                                    {deadline: deadline(WATCH_TIMEOUT_MS)});
    const events = [];
    let pending = Promise.resolve();
    let resumed = 0;
    call.on('data', (ev) => {
      events.push(ev);
      let form = null;
      if (ev.payload === 'snapshot' &&
          ev.snapshot.process.status === 'PROCESS_STATUS_SUSPENDED') {
        form = ev.snapshot.process.form || {};
      } else if (ev.payload === 'status_change' &&
                 ev.status_change.new_status === 'PROCESS_STATUS_SUSPENDED') {
        form = ev.status_change.form || {};
      }
      if (form) {
        if (!onSuspended) {
          call.cancel();
          reject(new Error(`unexpected suspension: ${JSON.stringify(ev)}`));
          return;
        }
        resumed++;
        pending = pending.then(async () => {
          // The event may come without its form: read it from the process then.
          const f = form.form ? form
            : (await unary(procs, 'GetProcess', {process_id: processId})).form;
          await onSuspended(f);
        });
        pending.catch((e) => { call.cancel(); reject(e); });
      }
    });
    call.on('error', reject);  // any status but OK
    call.on('end', () => {
      pending.then(() => {
        try {
          assert.ok(events.length >= 2, `events: ${JSON.stringify(events)}`);
          assert.equal(events[0].kind, 'PROCESS_EVENT_KIND_SNAPSHOT');
          for (let i = 1; i < events.length; i++) {
            assert.equal(BigInt(events[i].sequence), BigInt(events[i - 1].sequence) + 1n,
                         `sequence ${events[i].sequence} after ${events[i - 1].sequence}`);
            assert.equal(events[i].process_id, processId);
          }
          const last = events[events.length - 1];
          assert.equal(last.kind, 'PROCESS_EVENT_KIND_STATUS_CHANGED');
          assert.equal(last.status_change.new_status, 'PROCESS_STATUS_COMPLETED');
          if (onSuspended) assert.equal(resumed, 1, 'the input step was not seen exactly once');
          log(`watched ${processId}: ${events.length} events, ` +
              events.map((e) => e.kind.replace('PROCESS_EVENT_KIND_', '')).join(' '));
          resolve(events);
        } catch (e) {
          reject(e);
        }
      }, reject);
    });
  });
}

async function onlySubscription(procs, processId) {
  const p = await unary(procs, 'GetProcess', {process_id: processId});
  assert.equal(p.status, 'PROCESS_STATUS_COMPLETED');
  assert.equal(p.subscription_ids.length, 1, `subscriptions: ${p.subscription_ids}`);
  return p.subscription_ids[0];
}

// ---- the scenario --------------------------------------------------------------------------

async function scenario(addr) {
  const creds = grpc.credentials.createInsecure();
  const opts = {'grpc.enable_http_proxy': 0};
  const products = new v1.ProductService(addr, creds, opts);
  const procs = new v1.ProcessService(addr, creds, opts);
  const subs = new v1.SubscriptionService(addr, creds, opts);
  try {
    // 1. The products, every page.
    const byName = {};
    let token = '';
    do {
      const resp = await unary(products, 'ListProducts', {page_size: 4, page_token: token});
      for (const p of resp.products) byName[p.name] = p.product_id;
      token = resp.next_page_token;
      assert.ok(Object.keys(byName).length < 1000, 'pagination does not end');
    } while (token);
    assert.ok(Object.keys(byName).length >= 9, `products: ${Object.keys(byName)}`);
    assert.ok(byName['node Nokia'] && byName['port 10G'], `products: ${Object.keys(byName)}`);
    log(`${Object.keys(byName).length} products`);

    // 2. A node: one form page, every answer at once.
    let resp = await unary(procs, 'StartProcess', {
      workflow_name: 'create_node',
      product_id: byName['node Nokia'],
      user_inputs: [toStruct({customer_id: CUSTOMER, node_name: 'node-scn-r1', role_id: 1,
                              type_id: 2, site_id: 3})],
      request_id: crypto.randomUUID(),
    });
    assert.equal(resp.result, 'process', JSON.stringify(resp));
    const nodePid = resp.process.process_id;
    await watch(procs, nodePid);
    const nodeSub = await onlySubscription(procs, nodePid);

    // 3. A port through its form pages.
    const portProduct = byName['port 10G'];
    resp = await unary(procs, 'StartProcess',
                       {workflow_name: 'create_port', product_id: portProduct, user_inputs: []});
    assert.equal(resp.result, 'next_page', JSON.stringify(resp));
    assert.equal(resp.next_page.page_index, 0);
    assert.ok(formChoices(resp.next_page, 'node_subscription_id').includes(nodeSub));
    const page0 = {customer_id: CUSTOMER, node_subscription_id: nodeSub};

    resp = await unary(procs, 'StartProcess', {
      workflow_name: 'create_port', product_id: portProduct, user_inputs: [toStruct(page0)],
    });
    assert.equal(resp.result, 'next_page', JSON.stringify(resp));
    assert.equal(resp.next_page.page_index, 1);
    const free = formChoices(resp.next_page, 'port_name');
    assert.ok(free.length > 0, 'no free ports offered');
    log(`page 1 '${resp.next_page.title}' offers ${free.join(' ')}`);

    // A port the node does not have: INVALID_ARGUMENT with a BadRequest naming the field.
    await assert.rejects(
      unary(procs, 'StartProcess', {
        workflow_name: 'create_port', product_id: portProduct,
        user_inputs: [toStruct(page0), toStruct({port_name: '9/9/9', port_mode: 'tagged'})],
      }),
      (err) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        const rich = richError(err);
        assert.ok(rich, 'no grpc-status-details-bin trailer');
        assert.equal(rich.code, grpc.status.INVALID_ARGUMENT);
        const info = rich.details.find((d) => d.type === 'google.rpc.ErrorInfo');
        assert.ok(info && info.domain === 'orchestrator.v1', JSON.stringify(rich));
        const fields = rich.details.filter((d) => d.type === 'google.rpc.BadRequest')
          .flatMap((b) => b.field_violations.map((v) => v.field));
        assert.ok(fields.includes('user_inputs[1].port_name'), JSON.stringify(rich));
        log(`refused as expected: ${info.reason} ${fields.join(' ')}`);
        return true;
      });

    resp = await unary(procs, 'StartProcess', {
      workflow_name: 'create_port', product_id: portProduct,
      user_inputs: [toStruct(page0), toStruct({port_name: free[0], port_mode: 'tagged'})],
      request_id: crypto.randomUUID(),
    });
    assert.equal(resp.result, 'process', JSON.stringify(resp));
    const portPid = resp.process.process_id;
    await watch(procs, portPid);

    // 4. The port: active and in sync.
    const portSub = await onlySubscription(procs, portPid);
    let sub = await unary(subs, 'GetSubscription', {subscription_id: portSub});
    assert.equal(sub.status, 'SUBSCRIPTION_STATUS_ACTIVE');
    assert.equal(sub.in_sync, true);
    assert.equal(sub.customer_id, CUSTOMER);
    assert.equal(sub.product.name, 'port 10G');

    // 5. Terminate it, confirming the removal of the cable when the input step asks.
    resp = await unary(procs, 'StartProcess', {
      workflow_name: 'terminate_port', subscription_id: portSub, user_inputs: [],
      request_id: crypto.randomUUID(),
    });
    assert.equal(resp.result, 'process', JSON.stringify(resp));
    const termPid = resp.process.process_id;
    await watch(procs, termPid, async (form) => {
      assert.ok(formChoices(form, 'cable_removed').includes('yes'), JSON.stringify(form));
      const r = await unary(procs, 'ResumeProcess', {
        process_id: termPid,
        user_inputs: [toStruct({cable_removed: 'yes', ticket: 'CHG-9'})],
        request_id: crypto.randomUUID(),
      });
      assert.equal(r.result, 'process', JSON.stringify(r));
    });
    const term = await unary(procs, 'GetProcess', {process_id: termPid});
    assert.equal(term.status, 'PROCESS_STATUS_COMPLETED');
    assert.ok(term.steps.some((s) => s.key === 'confirm_removal'), 'no confirm_removal step');
    sub = await unary(subs, 'GetSubscription', {subscription_id: portSub});
    assert.equal(sub.status, 'SUBSCRIPTION_STATUS_TERMINATED');
    assert.ok(sub.end_time, 'no end_time');
    log(`port ${portSub} terminated`);
  } finally {
    products.close();
    procs.close();
    subs.close();
  }
}

async function main() {
  const addr = process.argv[2];
  if (!addr) {
    log('usage: node scenario.js HOST:PORT');
    return 2;
  }
  try {
    await scenario(addr);
    log('PASS');
    return 0;
  } catch (e) {
    log(`FAIL: ${e && e.stack ? e.stack : e}`);
    if (e && e.code !== undefined && e.details !== undefined) {
      log(`status ${e.code} ${e.details} ${JSON.stringify(richError(e))}`);
    }
    return 1;
  }
}

main().then((rc) => { process.exitCode = rc; });
