'use strict';
// conn.bulk2.loadAndWaitForResults, called as an application would call it.
//
// stdin: {"object", "operation", "externalIdFieldName"?, "lineEnding"?, "columnDelimiter"?,
//         "records": [...] | "csv": "..." | "csvFile": "path" (streamed), "pollInterval"?}
// stdout: {"ok": true, "results": {successfulResults, failedResults, unprocessedRecords}, "refreshed"}
//      or {"ok": false, "error": {name, errorCode, message}}
const fs = require('fs');
const { main } = require('./_connect');

main(module, async (spec, conn) => {
  let refreshed = false;
  conn.on('refresh', () => {
    refreshed = true;
  });
  let input = spec.records;
  if (spec.csv !== undefined) input = spec.csv;
  if (spec.csvFile !== undefined) input = fs.createReadStream(spec.csvFile);
  const options = { object: spec.object, operation: spec.operation, input };
  for (const key of ['externalIdFieldName', 'lineEnding', 'columnDelimiter']) {
    if (spec[key] !== undefined) options[key] = spec[key];
  }
  options.pollInterval = spec.pollInterval || 50;
  options.pollTimeout = spec.pollTimeout || 20000;
  try {
    const results = await conn.bulk2.loadAndWaitForResults(options);
    return { ok: true, results, refreshed };
  } catch (err) {
    return { ok: false, error: { name: err.name, errorCode: err.errorCode, message: err.message }, refreshed };
  }
});
