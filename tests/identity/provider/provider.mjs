// A real OpenID provider (node's oidc-provider) for the identity tests: Countersign signs people in
// through it (its own login page, driven by Chromium) and agents get OAuth access tokens from it.
//
// Configured by the test through the environment:
//   ISSUERS            comma-separated "port" list: one provider per port (a second one is an issuer
//                      Countersign does not trust)
//   ACCOUNTS_FILE      JSON {login: {email, name, groups}}; read on every look-up, so a test removes a
//                      person by rewriting it (deprovisioning at the provider)
//   REDIRECT_URI       Countersign's OIDC callback
//   ACCESS_TOKEN_TTL   seconds an access token lives (default 300); "short-agent" gets 1 second
// Prints "ready <issuer>" for each issuer once it listens.
import fs from 'node:fs';

import Provider from 'oidc-provider';

const accounts = () => JSON.parse(fs.readFileSync(process.env.ACCOUNTS_FILE, 'utf8'));
const ttl = Number(process.env.ACCESS_TOKEN_TTL || 300);

const configuration = {
  clients: [
    {
      client_id: 'countersign',
      client_secret: 'countersign-web-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // Agents: machine-to-machine, as an MCP client configured with client credentials would be.
    ...['billing-agent', 'unknown-agent', 'short-agent'].map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
  ],
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined; // removed at the provider: no userinfo, no new tokens
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: true,
          name: account.name,
          preferred_username: id,
          groups: account.groups || [],
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  // The company's identity provider has consented for its own users: no consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups offline_access');
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
  issueRefreshToken: async () => true,
  conformIdTokenClaims: false, // groups in the ID token, as Entra ID and Okta can put them
  features: {
    devInteractions: { enabled: true }, // the provider's own sign-in page (any password)
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        return {
          scope: 'countersign:agent',
          audience: resourceIndicator,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'short-agent' ? 1 : ttl,
        };
      },
    },
  },
  cookies: { keys: ['countersign-test-cookie-key'] },
};

for (const port of process.env.ISSUERS.split(',')) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
}
