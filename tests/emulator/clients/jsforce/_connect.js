'use strict';
// Shared by the scripts here: a jsforce Connection from the environment, the request spec from
// stdin, and one JSON document on stdout. Tokens come from the environment (never argv, never
// printed). driver.js runs the same handlers for many requests in one node process.
//
//   SF_INSTANCE_URL, SF_ACCESS_TOKEN, SF_API_VERSION (default 62.0)
//   SF_REFRESH_TOKEN, SF_CLIENT_ID, SF_CLIENT_SECRET: optional; with them jsforce refreshes an
//   expired session through {SF_INSTANCE_URL}/services/oauth2/token, as it does with a real org.
const jsforce = require('jsforce');

function connect(env = process.env) {
  const options = {
    instanceUrl: env.SF_INSTANCE_URL,
    accessToken: env.SF_ACCESS_TOKEN,
    version: env.SF_API_VERSION || '62.0',
  };
  if (env.SF_REFRESH_TOKEN) {
    options.refreshToken = env.SF_REFRESH_TOKEN;
    options.oauth2 = {
      clientId: env.SF_CLIENT_ID,
      clientSecret: env.SF_CLIENT_SECRET,
      loginUrl: env.SF_INSTANCE_URL,
    };
  }
  return new jsforce.Connection(options);
}

async function readSpec() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? JSON.parse(text) : {};
}

// What a jsforce error says, without its stack (and without request data that might hold a token).
function describeError(err) {
  return {
    name: err && err.name,
    errorCode: err && err.errorCode,
    message: err && err.message,
  };
}

// Run one step and record its outcome instead of stopping at the first failure.
async function step(trace, name, fn) {
  try {
    const value = await fn();
    trace.push({ step: name, ok: true, value: value === undefined ? null : value });
    return value;
  } catch (err) {
    trace.push({ step: name, ok: false, error: describeError(err) });
    return undefined;
  }
}

function emit(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

// A script's handler(spec, conn) runs once when the script is run directly; driver.js requires
// the script for its handler instead.
function main(module, handler) {
  module.exports = handler;
  if (require.main !== module) return;
  readSpec()
    .then((spec) => handler(spec, connect()))
    .then(emit, (err) => emit({ ok: false, error: describeError(err) }));
}

module.exports = { jsforce, connect, describeError, emit, main, step };
