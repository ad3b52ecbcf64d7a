// Authorization server for the end-to-end tests: oidc-provider 9 on Node 22.
//
// Usage: node server.mjs [--port N] [--keys FILE] [--new-keys] [--ttl S] [--short-ttl S]
//   --port N       listen on 127.0.0.1:N (0, the default, picks a free port)
//   --keys FILE    private JWK set (ES256 + RS256). Read when it exists;
//                  generated and written there when it does not.
//   --new-keys     always generate a fresh key set (new kids) and overwrite FILE:
//                  restarting with this flag rotates the AS's keys.
//   --ttl S        access-token lifetime in seconds for the normal resources (300)
//   --short-ttl S  lifetime for the *-short resources (2)
// Every option can also come from the environment: AS_PORT, AS_KEYS,
// AS_NEW_KEYS=1, AS_TTL, AS_SHORT_TTL.
//
// When listening it prints one line on stdout:
//   AS READY port=<port> issuer=<issuer> kids=<kid,kid>
// The in-memory adapter keeps opaque tokens only for the process's lifetime.
//
// Clients (secrets are test fixtures, nothing else):
//   gateway-client / gateway-client-secret   client_credentials, client_secret_basic
//   gateway-client-post / gateway-client-post-secret   client_credentials, client_secret_post
//   resource-server / resource-server-secret  introspection and revocation only
//   gateway-password / gateway-password-secret   password (and client_credentials), client_secret_basic
// Resource-owner password grant (RFC 6749 §4.3; oidc-provider has none, it is
// registered here): users alice / alice-password and bob / bob-password;
// opaque access tokens with sub = the user name, no refresh token.
// GET /_test/token-requests answers {"<client_id> <grant_type>": count, ...}:
// every token endpoint request, issued or refused.
// Resource indicators (audience = the indicator; scopes "read write admin"):
//   https://api.test/jwt          at+jwt, ES256
//   https://api.test/jwt-rs256    at+jwt, RS256
//   https://api.test/jwt-short    at+jwt, ES256, --short-ttl
//   https://api.test/other        at+jwt, ES256 (a second audience)
//   https://api.test/opaque       opaque (introspectable)
//   https://api.test/opaque-short opaque, --short-ttl
// Every token also carries sub (= client_id for client credentials),
// tenant "e2e" and roles ["reader","writer"].
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.AS_PORT ?? '0' },
    keys: { type: 'string', default: process.env.AS_KEYS },
    'new-keys': { type: 'boolean', default: process.env.AS_NEW_KEYS === '1' },
    ttl: { type: 'string', default: process.env.AS_TTL ?? '300' },
    'short-ttl': { type: 'string', default: process.env.AS_SHORT_TTL ?? '2' },
  },
  strict: true,
});

function positiveInt(name, text, allowZero = false) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    console.error(`AS ERROR --${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const port = positiveInt('port', args.port, true);
const ttl = positiveInt('ttl', args.ttl);
const shortTtl = positiveInt('short-ttl', args['short-ttl']);

async function newKey(alg) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}` };
}

async function loadKeys() {
  if (args.keys && existsSync(args.keys) && !args['new-keys']) {
    return JSON.parse(readFileSync(args.keys, 'utf8'));
  }
  const jwks = { keys: [await newKey('ES256'), await newKey('RS256')] };
  if (args.keys) writeFileSync(args.keys, JSON.stringify(jwks), { mode: 0o600 });
  return jwks;
}

const jwks = await loadKeys();

const SCOPES = 'read write admin';
const RESOURCES = {
  'https://api.test/jwt': { format: 'jwt', alg: 'ES256', ttl },
  'https://api.test/jwt-rs256': { format: 'jwt', alg: 'RS256', ttl },
  'https://api.test/jwt-short': { format: 'jwt', alg: 'ES256', ttl: shortTtl },
  'https://api.test/other': { format: 'jwt', alg: 'ES256', ttl },
  'https://api.test/opaque': { format: 'opaque', ttl },
  'https://api.test/opaque-short': { format: 'opaque', ttl: shortTtl },
};

const clientCredentialsClient = (id, method) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: method,
});

const configuration = {
  clients: [
    clientCredentialsClient('gateway-client', 'client_secret_basic'),
    clientCredentialsClient('gateway-client-post', 'client_secret_post'),
    {
      ...clientCredentialsClient('gateway-password', 'client_secret_basic'),
      grant_types: ['password', 'client_credentials'],
    },
    {
      client_id: 'resource-server',
      client_secret: 'resource-server-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks,
  // Extra claims in every access token (JWT payload and introspection
  // response alike): a string, an array and the client as `sub`, so that
  // claim forwarding can be checked on both paths.
  extraTokenClaims: (ctx, token) => ({
    sub: token.accountId ?? token.clientId,
    tenant: 'e2e',
    roles: ['reader', 'writer'],
  }),
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Only the resource server (and a token's own client) may introspect.
      allowedPolicy: (ctx, client, token) => client.clientId === 'resource-server'
        || client.clientId === token.clientId,
    },
    revocation: {
      enabled: true,
      // The resource server may revoke any token (the tests revoke through it).
      allowedPolicy: (ctx, client, token) => client.clientId === 'resource-server'
        || client.clientId === token.clientId,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        const rs = RESOURCES[resourceIndicator];
        if (!rs) throw new errors.InvalidTarget();
        const info = {
          scope: SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: rs.ttl,
          accessTokenFormat: rs.format,
        };
        if (rs.format === 'jwt') info.jwt = { sign: { alg: rs.alg } };
        return info;
      },
    },
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
  },
};

// Listen first so that port 0 resolves to the real port before the issuer is fixed.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const httpServer = createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  httpServer.once('error', reject);
  httpServer.listen(port, '127.0.0.1', resolve);
});

const actualPort = httpServer.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('AS server_error', err));

const USERS = { alice: 'alice-password', bob: 'bob-password' };
provider.registerGrantType('password', async (ctx) => {
  const { username, password, scope } = ctx.oidc.params;
  if (!username || !Object.hasOwn(USERS, username) || USERS[username] !== password) {
    throw new errors.InvalidGrant('invalid resource owner credentials');
  }
  const allowed = new Set(SCOPES.split(' '));
  const requested = (scope ?? '').split(' ').filter(Boolean);
  if (requested.some((s) => !allowed.has(s))) throw new errors.InvalidScope('unknown scope', scope);
  const token = new provider.AccessToken({
    accountId: username,
    client: ctx.oidc.client,
    gty: 'password',
    scope: requested.join(' ') || undefined,
  });
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}, ['username', 'password', 'scope']);

// Token endpoint requests by client and grant (issued or refused).
const tokenRequests = {};
const countTokenRequest = (ctx) => {
  const key = `${ctx.oidc?.client?.clientId ?? '-'} ${ctx.oidc?.params?.grant_type ?? '-'}`;
  tokenRequests[key] = (tokenRequests[key] ?? 0) + 1;
};
provider.on('grant.success', countTokenRequest);
provider.on('grant.error', countTokenRequest);

const callback = provider.callback();
handler = (req, res) => {
  if (req.method === 'GET' && req.url === '/_test/token-requests') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(tokenRequests));
    return;
  }
  callback(req, res);
};

const stop = () => {
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const kids = jwks.keys.map((k) => k.kid).join(',');
console.log(`AS READY port=${actualPort} issuer=${issuer} kids=${kids}`);
