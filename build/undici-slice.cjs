// The slice of undici the app uses (src/upstream/undici.ts): EnvHttpProxyAgent
// and the request method of every dispatcher, as undici's own index installs
// it. Bundled into dist/vendor/undici.cjs by build/bundle.mjs, instead of the
// index, which also loads fetch, WebSocket, the cache and the mocks (#22).
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
Object.assign(Dispatcher.prototype, require('undici/lib/api'));
module.exports = { EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent') };
