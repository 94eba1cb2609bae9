// An independent, standards-compliant OpenID Provider (panva's oidc-provider) for interop checks of
// `codex login`. Loopback only: it binds 127.0.0.1 and its issuer is http://127.0.0.1:<port>.
//
//   node provider.mjs --port 14560 --callback-port 14550 [--client-id ID] [--refresh always|never|spec]
//                     [--trace FILE]
//
// One public native client (token_endpoint_auth_method none, PKCE S256 required, redirect URI
// exactly http://localhost:<callback-port>/auth/callback or http://127.0.0.1:<callback-port>/auth/callback),
// oidc-provider's dev interactions for login and consent, and the Codex paths /oauth/authorize,
// /oauth/token, /oauth/revoke (RFC 7009), plus discovery and userinfo (/me) where oidc-provider puts them.
//
// --refresh always  issue a refresh token with every code grant (what a production issuer does)
// --refresh never   never issue one (a plain OAuth reply: access_token, id_token, no refresh_token)
// --refresh spec    oidc-provider's default: only when offline_access was granted, which OpenID
//                   Connect Core §11 allows only with prompt=consent
//
// --trace FILE gets one JSON line per request, WITH secrets (code, state, verifier, tokens), so the
// interop script can check that none of them reached codex-login.log, and which requests a command
// made (kinds authorize, redirect_to_client, token, revoke, userinfo, request; grant_revoked when a
// revocation ended a grant). Keep it in a temp dir.
// Prints "provider listening on <issuer>" once it accepts connections.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '14560' },
    'callback-port': { type: 'string', default: '14550' },
    'client-id': { type: 'string', default: 'app_EMoamEEZ73f0CkXaXp7hrann' },
    refresh: { type: 'string', default: 'always' },
    trace: { type: 'string' },
  },
});

const port = Number(opts.port);
const callbackPort = Number(opts['callback-port']);
if (!Number.isInteger(port) || !Number.isInteger(callbackPort) || port <= 0 || callbackPort <= 0) {
  console.error('provider: --port and --callback-port must be positive integers');
  process.exit(2);
}
if (!['always', 'never', 'spec'].includes(opts.refresh)) {
  console.error('provider: --refresh must be always, never or spec');
  process.exit(2);
}

const HOST = '127.0.0.1';
const issuer = `http://${HOST}:${port}`;
const clientId = opts['client-id'];
// Both loopback forms are registered, each exactly: the standard dialect used localhost and moves to
// the IP literal (RFC 8252 §7.3; issue 13 #7).
const redirectUris = [`http://localhost:${callbackPort}/auth/callback`, `http://127.0.0.1:${callbackPort}/auth/callback`];

function trace(entry) {
  if (opts.trace) appendFileSync(opts.trace, `${JSON.stringify({ t: new Date().toISOString(), ...entry })}\n`);
}

// A signing key made per run: no dev keys, no files.
const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: 'interop-rs256',
  use: 'sig',
  alg: 'RS256',
};

const refreshPolicy = {
  always: async () => true,
  never: async () => false,
  spec: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
}[opts.refresh];

const configuration = {
  clients: [
    {
      client_id: clientId,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
    },
  ],
  routes: {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    revocation: '/oauth/revoke',
    device_authorization: '/oauth/device/code',
  },
  pkce: { required: () => true }, // the default for public clients already; stated to be explicit
  features: {
    devInteractions: { enabled: true },
    // RFC 7009 §2.1: a client revokes only its own tokens (for a public client, others are ignored).
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: `Interop ${sub}`, email: `${sub}@example.test`, email_verified: true };
      },
    };
  },
  issueRefreshToken: refreshPolicy,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  jwks: { keys: [signingKey] },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 3600, Grant: 86400 },
};

const provider = new Provider(issuer, configuration);

// RFC 8252 §7.3 lets oidc-provider accept any port on a native loopback redirect; this check asks
// for the exact registered URI, as the issue's acceptance criterion (and many real issuers) do.
provider.use(async (ctx, next) => {
  if (ctx.path === '/oauth/authorize' && ctx.method === 'GET') {
    const q = ctx.query;
    trace({
      kind: 'authorize',
      params: Object.keys(q).sort(),
      client_id: q.client_id,
      redirect_uri: q.redirect_uri,
      response_type: q.response_type,
      scope: q.scope,
      code_challenge_method: q.code_challenge_method,
      prompt: q.prompt ?? null,
      state: q.state,
    });
    if (q.redirect_uri !== undefined && !redirectUris.includes(q.redirect_uri)) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = `invalid_request: redirect_uri must be exactly one of ${redirectUris.join(', ')}\n`;
      trace({ kind: 'authorize_rejected', redirect_uri: q.redirect_uri });
      return;
    }
  }
  await next();
  const location = ctx.response.get('location');
  if (location && redirectUris.some((uri) => location.startsWith(uri))) {
    const url = new URL(location);
    trace({
      kind: 'redirect_to_client',
      path: url.pathname,
      params: [...url.searchParams.keys()].sort(),
      code: url.searchParams.get('code'),
      state: url.searchParams.get('state'),
      iss: url.searchParams.get('iss'),
      error: url.searchParams.get('error'),
    });
  }
  const body = ctx.body && typeof ctx.body === 'object' ? ctx.body : {};
  if (ctx.method === 'POST' && ['/oauth/token', '/oauth/revoke'].includes(ctx.path)) {
    const params = ctx.oidc?.params ?? {};
    const sent = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
    trace({
      kind: ctx.path === '/oauth/token' ? 'token' : 'revoke',
      status: ctx.status,
      request: sent,
      request_params: Object.keys(sent).sort(),
      client_auth: ctx.get('authorization') ? 'header' : 'none',
      response_keys: Object.keys(body).sort(),
      response: body,
      grant_id: ctx.oidc?.entities?.Grant?.jti ?? null, // the grant its tokens belong to
    });
  } else {
    // Every other request too (discovery, userinfo, the dev interactions), so the script sees
    // each request a command made; userinfo with the Bearer token it was given.
    const authorization = ctx.get('authorization');
    trace({
      kind: ctx.oidc?.route === 'userinfo' ? 'userinfo' : 'request',
      method: ctx.method,
      path: ctx.path,
      route: ctx.oidc?.route ?? null,
      status: ctx.status,
      bearer: authorization.startsWith('Bearer ') ? authorization.slice(7) : null,
      error: body.error ?? null,
    });
  }
});

for (const event of ['grant.error', 'authorization.error', 'revocation.error', 'server_error']) {
  provider.on(event, (ctx, err) => {
    const line = `${event}: ${err.name} ${err.error ?? ''} ${err.error_description ?? err.message}`;
    console.log(`provider: ${line}`);
    trace({ kind: 'error', event, name: err.name, error: err.error, error_description: err.error_description ?? err.message });
  });
}
// Revoking a refresh token ends its whole grant (every token of it); revoking an access token ends
// the tokens but keeps the grant (oidc-provider's default revokeGrantPolicy).
provider.on('grant.revoked', (_ctx, grantId) => {
  console.log('provider: grant.revoked');
  trace({ kind: 'grant_revoked', grant_id: grantId });
});
provider.on('grant.success', (ctx) => {
  const body = ctx.body ?? {};
  console.log(`provider: grant.success ${ctx.oidc.params.grant_type} -> ${Object.keys(body).sort().join(',')} (scope "${body.scope ?? ''}")`);
});
provider.on('authorization.success', () => console.log('provider: authorization.success (code sent to the client)'));

const server = provider.listen(port, HOST, () => {
  console.log(`provider listening on ${issuer} (client ${clientId}, redirects ${redirectUris.join(' and ')}, refresh ${opts.refresh})`);
});
server.on('error', (err) => {
  console.error(`provider: cannot listen on ${HOST}:${port}: ${err.message}`);
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
