// Signing in through Cognito's hosted UI: the authorization code flow with PKCE (S256)
// for a public client (no secret in the page). The ID token is the API's bearer token; the
// refresh token renews it when it expires (an hour). Which identity provider, and whether
// the local "Sign in as" picker is offered, comes from /config.json, so one build serves
// every stack.

import { ApiError } from "./api";
import { t } from "./i18n";

export interface HostedUi {
  /** The user pool domain's base URL (relative locally: the stack's stand-in). */
  domain: string;
  client_id: string;
}

export interface ClientConfig {
  picker: boolean;
  hosted_ui?: HostedUi | null;
}

/** The verifier and state of a sign-in under way, until the hosted UI sends the browser back. */
const PENDING = "sign-in-pending";

export async function clientConfig(): Promise<ClientConfig> {
  const resp = await fetch("/config.json").catch(() => null);
  return resp && resp.ok ? resp.json() : { picker: false, hosted_ui: null };
}

function endpoint(ui: HostedUi, path: string): string {
  return new URL(`${ui.domain}${path}`, location.href).toString();
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 256 random bits. */
function randomToken(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

/** Where the hosted UI sends the browser back (a callback URL of the app client). */
function redirectUri(): string {
  return `${location.origin}/`;
}

/** Sends the browser to the hosted UI. */
export async function beginHostedSignIn(ui: HostedUi): Promise<void> {
  const verifier = randomToken();
  const state = randomToken();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  // Where the user was going (a conversation's link) comes back with them.
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: ui.client_id,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: "S256",
  });
  location.assign(`${endpoint(ui, "/oauth2/authorize")}?${query}`);
}

export interface Tokens {
  idToken: string;
  refreshToken?: string;
  /** The page the user was on when they went to sign in. */
  returnTo?: string;
}

/**
 * Back from the hosted UI (`?code=…&state=…`): the tokens, after checking the state is the
 * one this tab sent; null when the address carries no code. The code leaves the address bar.
 */
export async function completeHostedSignIn(ui: HostedUi): Promise<Tokens | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as
    | { verifier: string; state: string; returnTo?: string }
    | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", `${location.pathname}#/`);
  // What the address says is anyone's to write: the page says its own words.
  if (error || !pending || pending.state !== params.get("state")) {
    throw new ApiError(400, "sign_in_failed", t().signInFailed);
  }
  const tokens = await tokenRequest(ui, {
    grant_type: "authorization_code",
    code: code!,
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  return { ...tokens, returnTo: pending.returnTo };
}

/** The refresh token signs no one in any more (at sign-out; a failure leaves it to expire). */
export async function revokeRefreshToken(ui: HostedUi, refreshToken: string): Promise<void> {
  await fetch(endpoint(ui, "/oauth2/revoke"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: ui.client_id, token: refreshToken }),
  }).catch(() => undefined);
}

/** A new ID token for a refresh token. */
export async function renewIdToken(ui: HostedUi, refreshToken: string): Promise<string> {
  return (await tokenRequest(ui, { grant_type: "refresh_token", refresh_token: refreshToken })).idToken;
}

async function tokenRequest(ui: HostedUi, fields: Record<string, string>): Promise<Tokens> {
  const resp = await fetch(endpoint(ui, "/oauth2/token"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: ui.client_id, ...fields }),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || !data.id_token) throw new ApiError(resp.status, "sign_in_failed", data.error ?? resp.statusText);
  return { idToken: data.id_token, refreshToken: data.refresh_token };
}

/** Ends the hosted UI's session too, then comes back to the app's sign-in page. */
export function hostedSignOut(ui: HostedUi): void {
  const query = new URLSearchParams({ client_id: ui.client_id, logout_uri: redirectUri() });
  location.assign(`${endpoint(ui, "/logout")}?${query}`);
}
