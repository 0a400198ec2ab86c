'use strict';
// Many requests in one node process, so that a test suite does not pay node's start-up for each
// call. One JSON request per stdin line, one JSON answer per stdout line, in order:
//   {"script": "load" | "job_steps" | "query", "env": {SF_INSTANCE_URL, SF_ACCESS_TOKEN, ...}, "spec": {...}}
const readline = require('readline');
const { connect, describeError } = require('./_connect');

const handlers = {
  load: require('./load'),
  job_steps: require('./job_steps'),
  query: require('./query'),
};

async function serve() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let answer;
    try {
      const request = JSON.parse(line);
      answer = await handlers[request.script](request.spec, connect(request.env));
    } catch (err) {
      answer = { ok: false, error: describeError(err) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
}

serve();
