// Authorization server for the end-to-end tests: oidc-provider 9 on Node 22.
//
// Usage: node server.mjs [--port N] [--keys FILE] [--new-keys] [--ttl S] [--short-ttl S]
//                        [--tls-cert PEM --tls-key PEM]
//   --port N       listen on 127.0.0.1:N (0, the default, picks a free port)
//   --keys FILE    private JWK set (ES256 + RS256). Read when it exists;
//                  generated and written there when it does not.
//   --new-keys     always generate a fresh key set (new kids) and overwrite FILE:
//                  restarting with this flag rotates the AS's keys.
//   --ttl S        access-token lifetime in seconds for the normal resources (300)
//   --short-ttl S  lifetime for the *-short resources (2)
//   --tls-cert/--tls-key  also listen over HTTPS (same provider) on a second
//                  port, asking for a client certificate (not verified
//                  against a CA: RFC 8705 binds tokens to whatever
//                  certificate the client proves it holds)
// Every option can also come from the environment: AS_PORT, AS_KEYS,
// AS_NEW_KEYS=1, AS_TTL, AS_SHORT_TTL, AS_TLS_CERT, AS_TLS_KEY.
//
// When listening it prints one line on stdout:
//   AS READY port=<port> issuer=<issuer> kids=<kid,kid> tls_port=<port or 0>
// The in-memory adapter keeps opaque tokens only for the process's lifetime.
//
// Clients (secrets are test fixtures, nothing else):
//   gateway-client / gateway-client-secret   client_credentials, client_secret_basic
//   sts-client / sts-client-secret   jwt-bearer, saml2-bearer and token-exchange grants
//                                    (the gateway's STS), client_secret_basic
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
// GET /_test/keys.pem answers the signing keys' public halves as PEM
// (SPKI), for key-store verification keys.
//   https://api.test/jwt-encrypted at+jwt, ES256, then encrypted (JWE,
//                                 RSA-OAEP-256 + A256GCM) to the resource
//                                 server's key; GET /_test/rs-decryption-key
//                                 answers that private JWK (a test fixture)
// Sender-constrained tokens:
//   DPoP (RFC 9449, oidc-provider's default): a token request with a DPoP
//   proof gets token_type DPoP and cnf.jkt. GET /_test/dpop-proof?htm=&htu=
//   [&ath=][&nonce=][&key=a|b][&iat_offset=S] answers a fresh proof signed with the
//   test's client key a or b (ES256, node jose): the tests never sign
//   proofs themselves.
//   gateway-jwt: client_credentials with client_secret_jwt (HS256 assertion,
//   secret gateway-jwt-secret-0123456789abcdef0123456789).
//   gateway-tls: client_credentials with tls_client_auth (RFC 8705 §2.1):
//   the HTTPS port's client certificate with subject
//   CN=client-1,O=oauth-tests, chained to --tls-ca.
//   mTLS (RFC 8705): gateway-mtls / gateway-mtls-secret, client_credentials
//   with client_secret_basic and certificate-bound tokens; request its
//   tokens over the HTTPS port with a client certificate to get cnf.x5t#S256.
// Every token also carries sub (= client_id for client credentials),
// tenant "e2e" and roles ["reader","writer"].
import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { parseArgs } from 'node:util';

import {
  calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT,
} from 'jose';
import Provider, { errors } from 'oidc-provider';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.AS_PORT ?? '0' },
    keys: { type: 'string', default: process.env.AS_KEYS },
    'new-keys': { type: 'boolean', default: process.env.AS_NEW_KEYS === '1' },
    ttl: { type: 'string', default: process.env.AS_TTL ?? '300' },
    'short-ttl': { type: 'string', default: process.env.AS_SHORT_TTL ?? '2' },
    'tls-cert': { type: 'string', default: process.env.AS_TLS_CERT },
    'tls-key': { type: 'string', default: process.env.AS_TLS_KEY },
    'tls-ca': { type: 'string', default: process.env.AS_TLS_CA },
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

// The resource server's encryption key (its private half is served to the
// tests, which configure the filter with it) and the DPoP client keys.
const rsEncryption = await generateKeyPair('RSA-OAEP-256', { extractable: true, modulusLength: 2048 });
const rsEncryptionKid = `rs-enc-${randomBytes(6).toString('hex')}`;
const dpopKeys = {};
for (const name of ['a', 'b']) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  dpopKeys[name] = { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

const SCOPES = 'read write admin';
const RESOURCES = {
  'https://api.test/jwt': { format: 'jwt', alg: 'ES256', ttl },
  'https://api.test/jwt-rs256': { format: 'jwt', alg: 'RS256', ttl },
  'https://api.test/jwt-short': { format: 'jwt', alg: 'ES256', ttl: shortTtl },
  'https://api.test/other': { format: 'jwt', alg: 'ES256', ttl },
  'https://api.test/opaque': { format: 'opaque', ttl },
  'https://api.test/opaque-short': { format: 'opaque', ttl: shortTtl },
  'https://api.test/jwt-encrypted': {
    format: 'jwt',
    alg: 'ES256',
    ttl,
    encrypt: {
      alg: 'RSA-OAEP-256', enc: 'A256GCM', key: rsEncryption.publicKey, kid: rsEncryptionKid,
    },
  },
};

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SAML2_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

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
      ...clientCredentialsClient('gateway-jwt', 'client_secret_jwt'),
      client_secret: 'gateway-jwt-secret-0123456789abcdef0123456789',
    },
    {
      client_id: 'gateway-tls',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=client-1,O=oauth-tests',
    },
    {
      ...clientCredentialsClient('gateway-mtls', 'client_secret_basic'),
      tls_client_certificate_bound_access_tokens: true,
    },
    // Browser login through the gateway (authorization code + PKCE, refresh,
    // revocation, RP-initiated logout). 'native' so that any loopback port
    // of the redirect URIs is accepted (RFC 8252 §7.3): the proxies under
    // test listen on free ports.
    ...['gateway-web', 'gateway-web-2'].map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/oauth2/callback'],
      post_logout_redirect_uris: ['http://127.0.0.1/', 'http://127.0.0.1/app/bye'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    // The gateway's security token service redeeming the assertions it
    // mints (RFC 7523 JWT bearer, RFC 7522 SAML 2.0 bearer grants).
    {
      ...clientCredentialsClient('sts-client', 'client_secret_basic'),
      grant_types: [JWT_BEARER_GRANT, SAML2_BEARER_GRANT, TOKEN_EXCHANGE_GRANT],
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
  clientAuthMethods: [
    'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt',
    'tls_client_auth', 'none',
  ],
  // Extra claims in every access token (JWT payload and introspection
  // response alike): a string, an array and the client as `sub`, so that
  // claim forwarding can be checked on both paths.
  extraTokenClaims: (ctx, token) => ({
    sub: token.accountId ?? token.clientId,
    tenant: 'e2e',
    roles: ['reader', 'writer'],
  }),
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // Users of the browser-login suite: whoever logs in on the dev login page
  // (any password) is an account with these claims.
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.test`, name: sub }),
  }),
  claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
  // Scope claims in the ID token itself (the gateway forwards ID-token
  // claims; it makes no userinfo call).
  conformIdTokenClaims: false,
  // Refresh tokens for every client allowed the grant (not only with
  // offline_access), so the gateway's session can be refreshed.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    // The built-in login and consent pages (the browser suite fills them).
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      // Chained to --tls-ca (Node verified it; unverified peers still
      // connect, for certificate-bound tokens of any certificate).
      certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) => {
        if (property !== 'tls_client_auth_subject_dn') return false;
        const s = ctx.req.socket.getPeerCertificate?.(false)?.subject ?? {};
        return `CN=${s.CN},O=${s.O}` === expected;
      },
      // The certificate the client presented on the HTTPS port, as PEM.
      getCertificate: (ctx) => {
        const peer = ctx.req.socket.getPeerCertificate?.(false);
        if (!peer?.raw) return undefined;
        const b64 = peer.raw.toString('base64').match(/.{1,64}/g).join('\n');
        return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
      },
    },
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
        if (rs.encrypt) info.jwt.encrypt = rs.encrypt;
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
// What the browser-login suite checks in this log: revocations at logout.
for (const ev of ['access_token.destroyed', 'refresh_token.destroyed', 'grant.revoked']) {
  provider.on(ev, () => console.log(`AS event ${ev}`));
}

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

// The gateway's security token service (the e2e_sts suite): its issuer and
// key pair are the test fixtures of filter/tests/sts/keys.json; the
// assertions it mints are verified here, independently of the filter
// (jose for JWTs, xml-crypto for the XML signature of SAML assertions).
const STS_ISSUER = 'https://gateway.test/sts';
const stsKeys = JSON.parse(readFileSync(new URL('../../filter/tests/sts/keys.json', import.meta.url)));
const stsPublicKey = createPublicKey({ key: stsKeys.rsa.public, format: 'jwk' });
const stsCertificate = stsKeys.rsa.certificate_pem;
const tokenEndpoint = `${issuer}/token`;
// Assertion ids seen: each assertion is redeemed once (RFC 7523 §3, RFC 7522 §3).
const redeemed = new Set();
const SKEW_S = 60;

function redeemOnce(id) {
  if (typeof id !== 'string' || !id || redeemed.has(id)) {
    throw new errors.InvalidGrant('assertion without an id, or already redeemed');
  }
  redeemed.add(id);
}

async function issueFor(ctx, subject, gty) {
  const token = new provider.AccessToken({ accountId: subject, client: ctx.oidc.client, gty });
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration };
}

provider.registerGrantType(JWT_BEARER_GRANT, async (ctx) => {
  const { assertion } = ctx.oidc.params;
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion ?? '', stsPublicKey, {
      issuer: STS_ISSUER,
      audience: tokenEndpoint,
      algorithms: ['RS256', 'PS256'],
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      clockTolerance: SKEW_S,
    }));
  } catch (e) {
    throw new errors.InvalidGrant(`JWT assertion refused: ${e.code ?? e.message}`);
  }
  redeemOnce(payload.jti);
  await issueFor(ctx, payload.sub, 'jwt-bearer');
}, ['assertion', 'scope']);

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
provider.registerGrantType(SAML2_BEARER_GRANT, async (ctx) => {
  const xml = Buffer.from(ctx.oidc.params.assertion ?? '', 'base64url').toString('utf8');
  let assertion;
  try {
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const root = doc.documentElement;
    if (!root || root.namespaceURI !== SAML || root.localName !== 'Assertion') throw new Error('not an assertion');
    const signatures = root.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature');
    if (signatures.length !== 1) throw new Error('one signature expected');
    const sig = new SignedXml({ publicCert: stsCertificate });
    sig.loadSignature(signatures[0]);
    if (!sig.checkSignature(xml)) throw new Error('bad signature');
    // Read only what the signature covers: the whole assertion.
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw new Error('one signed reference expected');
    assertion = new DOMParser().parseFromString(signed[0], 'text/xml').documentElement;
    if (assertion.localName !== 'Assertion' || assertion.getAttribute('ID') !== root.getAttribute('ID')) {
      throw new Error('the signature does not cover the assertion');
    }
  } catch (e) {
    throw new errors.InvalidGrant(`SAML assertion refused: ${e.message}`);
  }
  const text = (name) => assertion.getElementsByTagNameNS(SAML, name)[0]?.textContent?.trim();
  const attr = (name, a) => assertion.getElementsByTagNameNS(SAML, name)[0]?.getAttribute(a);
  const now = Date.now();
  const at = (v) => (v ? Date.parse(v) : NaN);
  if (text('Issuer') !== STS_ISSUER) throw new errors.InvalidGrant('unknown SAML issuer');
  if (text('Audience') !== tokenEndpoint) throw new errors.InvalidGrant('SAML audience is not this AS');
  if (attr('SubjectConfirmationData', 'Recipient') !== tokenEndpoint) {
    throw new errors.InvalidGrant('SAML recipient is not the token endpoint');
  }
  const notBefore = at(attr('Conditions', 'NotBefore'));
  const notOnOrAfter = at(attr('Conditions', 'NotOnOrAfter'));
  if (!(notBefore - SKEW_S * 1000 <= now && now < notOnOrAfter + SKEW_S * 1000)) {
    throw new errors.InvalidGrant('SAML assertion not valid now');
  }
  const subject = text('NameID');
  if (!subject) throw new errors.InvalidGrant('SAML assertion without NameID');
  redeemOnce(assertion.getAttribute('ID'));
  await issueFor(ctx, subject, 'saml2-bearer');
}, ['assertion', 'scope']);

// RFC 8693 token exchange for the gateway's REST token sources: the subject
// token (and an actor token, if any) must be JWT access tokens of this AS.
const ownKeys = createLocalJWKSet({
  keys: jwks.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub),
});
provider.registerGrantType(TOKEN_EXCHANGE_GRANT, async (ctx) => {
  const {
    subject_token: subjectToken, subject_token_type: subjectType,
    actor_token: actorToken, actor_token_type: actorType,
  } = ctx.oidc.params;
  const own = async (token, what) => {
    try {
      return (await jwtVerify(token ?? '', ownKeys, { issuer, typ: 'at+jwt' })).payload;
    } catch (e) {
      throw new errors.InvalidGrant(`${what} refused: ${e.code ?? e.message}`);
    }
  };
  if (subjectType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
  const subject = await own(subjectToken, 'subject_token');
  if (actorToken !== undefined) {
    if (actorType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported actor_token_type');
    await own(actorToken, 'actor_token');
  }
  await issueFor(ctx, subject.sub, 'token-exchange');
  ctx.body.issued_token_type = ACCESS_TOKEN_TYPE;
}, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'requested_token_type', 'audience', 'scope']);

// Token endpoint requests by client and grant (issued or refused).
const tokenRequests = {};
const countTokenRequest = (ctx) => {
  const key = `${ctx.oidc?.client?.clientId ?? '-'} ${ctx.oidc?.params?.grant_type ?? '-'}`;
  tokenRequests[key] = (tokenRequests[key] ?? 0) + 1;
};
provider.on('grant.success', countTokenRequest);
provider.on('grant.error', countTokenRequest);

// A DPoP proof (RFC 9449 §4.2) for the tests, signed by node jose.
async function dpopProof(query) {
  const key = dpopKeys[query.get('key') ?? 'a'];
  if (!key) throw new Error('unknown key');
  const claims = {
    htm: query.get('htm'),
    htu: query.get('htu'),
    iat: Math.floor(Date.now() / 1000) + Number(query.get('iat_offset') ?? 0),
    jti: randomBytes(16).toString('base64url'),
  };
  if (query.get('ath')) claims.ath = query.get('ath');
  if (query.get('nonce')) claims.nonce = query.get('nonce');
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}

const callback = provider.callback();
handler = (req, res) => {
  const url = new URL(req.url, 'http://as.invalid');
  const json = (value) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };
  if (req.method === 'GET' && url.pathname === '/_test/token-requests') {
    json(tokenRequests);
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_test/dpop-proof') {
    dpopProof(url.searchParams).then(
      (proof) => json({ proof, jkt: dpopKeys[url.searchParams.get('key') ?? 'a'].jkt }),
      (e) => { res.statusCode = 400; res.end(String(e)); },
    );
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_test/keys.pem') {
    // The signing keys' public halves as PEM SPKI blocks (a key store).
    res.setHeader('content-type', 'application/x-pem-file');
    res.end(jwks.keys.map((k) => createPublicKey({ key: k, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })).join(''));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_test/rs-decryption-key') {
    exportJWK(rsEncryption.privateKey).then((jwk) => json({
      ...jwk, alg: 'RSA-OAEP-256', use: 'enc', kid: rsEncryptionKid,
    }));
    return;
  }
  callback(req, res);
};

// The HTTPS port: same provider, client certificates requested.
let tlsServer;
let tlsPort = 0;
if (args['tls-cert'] && args['tls-key']) {
  tlsServer = createTlsServer({
    cert: readFileSync(args['tls-cert']),
    key: readFileSync(args['tls-key']),
    requestCert: true,
    rejectUnauthorized: false,
    ...(args['tls-ca'] ? { ca: readFileSync(args['tls-ca']) } : {}),
  }, (req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(0, '127.0.0.1', resolve);
  });
  tlsPort = tlsServer.address().port;
}

const stop = () => {
  tlsServer?.close();
  tlsServer?.closeAllConnections();
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const kids = jwks.keys.map((k) => k.kid).join(',');
console.log(`AS READY port=${actualPort} issuer=${issuer} kids=${kids} tls_port=${tlsPort}`);
