'use strict';
// Bulk API 2.0 query through jsforce: conn.bulk2.query (records), and the QueryJobV2 steps.
//
// stdin: {"soql", "scanAll"?, "scenario"?: "records" | "steps", "columnDelimiter"?, "lineEnding"?}
// stdout: records: {"ok": true, "records": [...]}; steps: {"ok": true, "trace": [...]}
const { main, step } = require('./_connect');
const { QueryJobV2 } = require('jsforce/lib/api/bulk2');

main(module, async (spec, conn) => {
  if ((spec.scenario || 'records') === 'records') {
    try {
      const options = { scanAll: Boolean(spec.scanAll), pollInterval: 50, pollTimeout: 20000 };
      for (const key of ['columnDelimiter', 'lineEnding']) {
        if (spec[key] !== undefined) options[key] = spec[key];
      }
      const stream = await conn.bulk2.query(spec.soql, options);
      const records = await stream.toArray();
      return { ok: true, records };
    } catch (err) {
      return { ok: false, error: { name: err.name, errorCode: err.errorCode, message: err.message } };
    }
  }
  const trace = [];
  const job = new QueryJobV2(conn, {
    bodyParams: { query: spec.soql, operation: spec.scanAll ? 'queryAll' : 'query' },
    pollingOptions: { pollInterval: 50, pollTimeout: 20000 },
  });
  const pick = (info) => info && { id: info.id, state: info.state, operation: info.operation, object: info.object,
    jobType: info.jobType, numberRecordsProcessed: info.numberRecordsProcessed };
  await step(trace, 'open', async () => pick(await job.open()));
  await step(trace, 'poll', () => job.poll());
  await step(trace, 'check', async () => pick(await job.check()));
  await step(trace, 'result', async () => (await job.result()).toArray());
  await step(trace, 'abort completed', async () => pick(await job.abort()));
  await step(trace, 'delete', () => job.delete());
  await step(trace, 'check after delete', async () => pick(await job.check()));
  return { ok: true, trace };
});
