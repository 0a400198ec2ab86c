'use strict';
// The lower-level ingest calls one by one: createJob, open, uploadData, close, poll, check,
// getAllResults, the raw result files, abort and delete. Each step's outcome goes into a trace.
//
// stdin: {"scenario": "lifecycle" | "abort-open" | "abort-in-progress" | "misuse", "object",
//         "operation", "csv"}
// stdout: {"ok": true, "trace": [{"step", "ok", "value" | "error"}]}
const { main, step } = require('./_connect');

const INTERVAL = 50;
const TIMEOUT = 20000;

function summary(info) {
  if (!info) return info;
  const keys = ['id', 'state', 'operation', 'object', 'contentUrl', 'numberRecordsProcessed', 'numberRecordsFailed',
    'errorMessage', 'jobType', 'apiVersion'];
  return Object.fromEntries(keys.filter((k) => info[k] !== undefined).map((k) => [k, info[k]]));
}

const scenarios = {
  async lifecycle(spec, conn, trace) {
    const job = conn.bulk2.createJob({ object: spec.object, operation: spec.operation });
    await step(trace, 'open', async () => summary(await job.open()));
    await step(trace, 'uploadData', () => job.uploadData(spec.csv));
    await step(trace, 'close', async () => {
      await job.close();
      return summary(job.getInfo());
    });
    let progress = 0;
    job.on('inProgress', () => {
      progress += 1;
    });
    await step(trace, 'poll', () => job.poll(INTERVAL, TIMEOUT));
    await step(trace, 'check', async () => summary(await job.check()));
    await step(trace, 'getAllResults', () => job.getAllResults());
    await step(trace, 'getSuccessfulResults(raw)', () => job.getSuccessfulResults(true));
    await step(trace, 'getFailedResults(raw)', () => job.getFailedResults(true));
    await step(trace, 'getUnprocessedRecords(raw)', () => job.getUnprocessedRecords(true));
    // The same job found again by its id, as a second process would.
    await step(trace, 'job(id).check', async () => summary(await conn.bulk2.job('ingest', { id: job.id }).check()));
    await step(trace, 'delete', () => job.delete());
    await step(trace, 'check after delete', async () => summary(await job.check()));
    trace.push({ step: 'inProgress events', ok: true, value: progress });
  },

  async 'abort-open'(spec, conn, trace) {
    const job = conn.bulk2.createJob({ object: spec.object, operation: spec.operation });
    await step(trace, 'open', async () => summary(await job.open()));
    await step(trace, 'delete while Open', () => job.delete());
    await step(trace, 'abort', async () => {
      await job.abort();
      return summary(job.getInfo());
    });
    await step(trace, 'poll', () => job.poll(INTERVAL, TIMEOUT));
    await step(trace, 'getAllResults', () => job.getAllResults());
    await step(trace, 'delete', () => job.delete());
  },

  async 'abort-in-progress'(spec, conn, trace) {
    const job = conn.bulk2.createJob({ object: spec.object, operation: spec.operation });
    await step(trace, 'open', async () => summary(await job.open()));
    await step(trace, 'uploadData', () => job.uploadData(spec.csv));
    await step(trace, 'close', () => job.close());
    await step(trace, 'wait for InProgress', async () => {
      const end = Date.now() + TIMEOUT;
      for (;;) {
        const info = await job.check();
        if (info.state !== 'UploadComplete' || Date.now() > end) return summary(info);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await step(trace, 'abort', async () => {
      await job.abort();
      return summary(job.getInfo());
    });
    await step(trace, 'poll', () => job.poll(INTERVAL, TIMEOUT));
    // Rows already processed stay; the rest come back as unprocessed records.
    await step(trace, 'wait for counters', async () => {
      const end = Date.now() + TIMEOUT;
      let info = await job.check();
      let last = -1;
      while (info.numberRecordsProcessed !== last && Date.now() < end) {
        last = info.numberRecordsProcessed;
        await new Promise((resolve) => setTimeout(resolve, 200));
        info = await job.check();
      }
      return summary(info);
    });
    await step(trace, 'getAllResults', () => job.getAllResults());
  },

  async misuse(spec, conn, trace) {
    const job = conn.bulk2.createJob({ object: spec.object, operation: spec.operation });
    await step(trace, 'open', async () => summary(await job.open()));
    await step(trace, 'poll while Open', () => job.poll(INTERVAL, TIMEOUT));
    await step(trace, 'uploadData', () => job.uploadData(spec.csv));
    // A second PUT through another handle on the same job (jsforce itself refuses a second upload
    // on one handle before any request is made).
    await step(trace, 'uploadData again', () => conn.bulk2.job('ingest', { id: job.id }).uploadData(spec.csv));
    await step(trace, 'close', () => job.close());
    await step(trace, 'poll', () => job.poll(INTERVAL, TIMEOUT));
    await step(trace, 'close again', () => job.close());
    await step(trace, 'abort completed', () => job.abort());
    await step(trace, 'poll with timeout 0', () => job.poll(INTERVAL, 0));
    await step(trace, 'delete', () => job.delete());
  },
};

main(module, async (spec, conn) => {
  const trace = [];
  await scenarios[spec.scenario](spec, conn, trace);
  return { ok: true, trace };
});
