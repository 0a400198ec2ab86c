// The jsforce contender of the benchmarks: `node benchmarks/jsforce_load.mjs SPEC.json`.
//
// jsforce is not committed: the harness installs it (`npm ci`, the version pinned in
// tests/emulator/clients/package-lock.json) into its work directory and passes that folder as
// JSFORCE_PREFIX. The emulator's certificate is trusted through NODE_EXTRA_CA_CERTS.
//
// What runs is jsforce's documented one-call load, `conn.bulk2.loadAndWaitForResults({object,
// operation, input, pollTimeout})`, with its default poll interval (1 s). Its default pollTimeout
// (30 s) is raised to one hour: a large load takes longer than that and jsforce would give up.
// A Bulk API 2.0 job takes at most 150 MB of base64 (about 112 MB of CSV) and jsforce does not
// split a file, so a file larger than `part_bytes` (default 100 MB) is cut at record ends
// (outside quotes) into parts, each with the header, each one loadAndWaitForResults call, all
// at once: what a user must write around jsforce for a file this size. The results jsforce
// returns (successful, failed and unprocessed records, in memory) are written to CSV files, as a
// user needs them to know which rows failed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const prefix = process.env.JSFORCE_PREFIX;
if (!prefix) throw new Error('JSFORCE_PREFIX (the folder jsforce is installed in) is not set');
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const jsforce = require('jsforce');
const { stringify } = require('csv-stringify/sync');

const QUOTE = 0x22;
const NEWLINE = 0x0a;

// Byte offsets where records end (after the newline), outside quotes, at most partBytes apart.
function cutPoints(file, partBytes) {
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  const block = Buffer.allocUnsafe(4 << 20);
  let inQuotes = false;
  let pos = 0;
  let headerEnd = -1;
  let partStart = -1;
  let lastEnd = -1;
  const cuts = [];
  for (;;) {
    const n = fs.readSync(fd, block, 0, block.length, pos);
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const b = block[i];
      if (b === QUOTE) inQuotes = !inQuotes;
      else if (b === NEWLINE && !inQuotes) {
        const end = pos + i + 1;
        if (headerEnd < 0) {
          headerEnd = end;
          partStart = end;
        } else {
          if (end - partStart > partBytes && lastEnd > partStart) {
            cuts.push([partStart, lastEnd]);
            partStart = lastEnd;
          }
          lastEnd = end;
        }
      }
    }
    pos += n;
  }
  fs.closeSync(fd);
  if (size > partStart) cuts.push([partStart, size]);
  return { headerEnd, cuts };
}

function partInput(file, header, start, end) {
  const out = new PassThrough();
  out.write(header);
  fs.createReadStream(file, { start, end: end - 1 }).pipe(out);
  return out;
}

function writeCsv(file, rows) {
  const fd = fs.openSync(file, 'w');
  if (rows.length) {
    const columns = Object.keys(rows[0]);
    fs.writeSync(fd, stringify([columns]));
    for (let i = 0; i < rows.length; i += 10000) {
      fs.writeSync(fd, stringify(rows.slice(i, i + 10000), { columns }));
    }
  }
  fs.closeSync(fd);
}

async function main() {
  const started = Date.now();
  const conn = new jsforce.Connection({ instanceUrl: spec.instance_url, accessToken: spec.access_token });
  const partBytes = spec.part_bytes || 100_000_000;
  const size = fs.statSync(spec.file).size;
  let inputs;
  if (size <= partBytes) {
    inputs = [() => fs.createReadStream(spec.file)];
  } else {
    const { headerEnd, cuts } = cutPoints(spec.file, partBytes);
    const fd = fs.openSync(spec.file, 'r');
    const header = Buffer.alloc(headerEnd);
    fs.readSync(fd, header, 0, headerEnd, 0);
    fs.closeSync(fd);
    inputs = cuts.map(([start, end]) => () => partInput(spec.file, header, start, end));
  }
  fs.mkdirSync(spec.out_dir, { recursive: true });
  const options = { object: 'Contact', operation: spec.operation, pollTimeout: 3600 * 1000 };
  if (spec.external_id_field) options.externalIdFieldName = spec.external_id_field;
  const counts = await Promise.all(
    inputs.map(async (input, n) => {
      const res = await conn.bulk2.loadAndWaitForResults({ ...options, input: input() });
      writeCsv(path.join(spec.out_dir, `part${n}-success.csv`), res.successfulResults);
      writeCsv(path.join(spec.out_dir, `part${n}-failed.csv`), res.failedResults);
      writeCsv(path.join(spec.out_dir, `part${n}-unprocessed.csv`), res.unprocessedRecords);
      return [res.successfulResults.length, res.failedResults.length, res.unprocessedRecords.length];
    }),
  );
  const sum = (k) => counts.reduce((a, c) => a + c[k], 0);
  const result = {
    records: sum(0) + sum(1) + sum(2),
    succeeded: sum(0),
    failed: sum(1),
    unprocessed: sum(2),
    jobs: inputs.length,
    work_seconds: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(spec.result_path, JSON.stringify(result));
}

main().catch((err) => {
  console.error(`jsforce load failed: ${err && err.name}: ${err && err.message}`);
  process.exit(1);
});
