// The slice of undici the app uses (src/upstream/undici.ts): EnvHttpProxyAgent,
// Pool (the client to an HTTP(S)_PROXY, src/upstream/http.ts)
// and the request method of every dispatcher, installed as undici's own index
// installs it. Loaded by undici() in development and bundled into
// dist/vendor/undici.cjs and the single binary (build/defines.mjs,
// UNDICI_SLICE), instead of the index, which also loads fetch, WebSocket, the
// cache and the mocks, and sets a global dispatcher (#22).
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
Object.assign(Dispatcher.prototype, require('undici/lib/api'));
module.exports = {
  EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent'),
  Pool: require('undici/lib/dispatcher/pool'),
};
