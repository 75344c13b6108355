import "./style.css";
import { Api, ApiError, isStaffRole, sessionOf, type Session } from "./api";
import {
  clientConfig,
  completeHostedSignIn,
  hostedSignOut,
  renewIdToken,
  revokeRefreshToken,
  type ClientConfig,
} from "./auth";
import type { Context } from "./context";
import { h, show } from "./dom";
import { currentLang, setLang, t, type Lang } from "./i18n";
import { signInView } from "./views/signin";
import { inboxView } from "./views/inbox";
import { threadView } from "./views/thread";
import { composeView } from "./views/compose";
import { searchView } from "./views/search";
import { settingsView } from "./views/settings";
import { triageView } from "./views/triage";
import { contactsView } from "./views/contacts";
import { contactView } from "./views/contact";
import { organizationView } from "./views/organization";
import { metricsView } from "./views/metrics";
import { scheduledView } from "./views/scheduled";
import { INVITE_TOKEN, inviteView } from "./views/invite";
import { FILTERS } from "./views/inbox";

const SESSION = "session";
/** How often an open list or thread asks for what is new. */
const POLL_MS = 4000;

let timer: number | undefined;
/** Bumped by each render: a view of an older one stops acting (polls, read markers). */
let generation = 0;

function loadSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION);
  // A session kept by an older client lacks newer fields.
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  return { ...session, propertyIds: session.propertyIds ?? [] };
}

/** Shows the inbox: through hashchange, or at once when the hash is already there. */
function home(): void {
  if (location.hash === "#/") void render();
  else location.hash = "#/";
}

function signIn(session: Session, returnTo = "#/"): void {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  if (returnTo === location.hash || (returnTo === "#/" && !location.hash)) void render();
  else location.hash = returnTo;
}

/** Forgets the session and what this tab kept for its user (the inbox's filters). */
function forget(): Session | null {
  const session = loadSession();
  sessionStorage.removeItem(SESSION);
  sessionStorage.removeItem(FILTERS);
  return session;
}

async function signOut(): Promise<void> {
  const session = forget();
  // Signed in through the hosted UI: the refresh token dies and the hosted UI's session
  // ends too (it comes back to the sign-in page).
  if (session?.hostedUi) {
    if (session.refreshToken) await revokeRefreshToken(session.hostedUi, session.refreshToken);
    hostedSignOut(session.hostedUi);
  } else home();
}

let config: Promise<ClientConfig> | undefined;
/** How this stack signs in (asked once). */
function signInConfig(): Promise<ClientConfig> {
  config ??= clientConfig();
  return config;
}

let renewing: Promise<string | null> | null = null;
/**
 * A fresh ID token through the refresh token (one request for every call that met the
 * expiry at once); none for a session without one. When that fails, the session is over.
 */
function renewToken(session: Session): Promise<string | null> {
  const { hostedUi, refreshToken } = session;
  if (!hostedUi || !refreshToken) {
    // A local token that expired: sign in again.
    forget();
    void render();
    return Promise.resolve(null);
  }
  renewing ??= renewIdToken(hostedUi, refreshToken)
    .then((token) => {
      sessionStorage.setItem(SESSION, JSON.stringify({ ...session, token }));
      return token;
    })
    .catch((err: unknown) => {
      // Refused (expired or revoked): the session is over. Unreachable: try again later.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        forget();
        void render();
      }
      return null;
    })
    .finally(() => {
      renewing = null;
    });
  return renewing;
}

/** Back from the hosted UI: signs in with its tokens. Whether it did; throws what failed. */
async function returnFromHostedUi(settings: ClientConfig): Promise<boolean> {
  if (!settings.hosted_ui) return false;
  const tokens = await completeHostedSignIn(settings.hosted_ui);
  if (!tokens) return false;
  const session = await sessionOf(tokens.idToken);
  signIn({ ...session, hostedUi: settings.hosted_ui, refreshToken: tokens.refreshToken }, tokens.returnTo || "#/");
  return true;
}

/** Whether the page shown belongs to the header's section `href` (threads and folders are Messages). */
function section(href: string): boolean {
  const route = location.hash.replace(/^#\/?/, "").split("/")[0].replace(/^contact$/, "contacts");
  const of = (r: string) => (["triage", "contacts", "metrics", "organization", "settings"].includes(r) ? r : "");
  return of(route) === of(href.replace(/^#\/?/, ""));
}

function header(session: Session | null): HTMLElement {
  const s = t();
  const lang = h(
    "select",
    {
      id: "lang",
      onchange: (e: Event) => {
        setLang((e.target as HTMLSelectElement).value as Lang);
        render();
      },
    },
    h("option", { value: "en", selected: currentLang() === "en" }, "English"),
    h("option", { value: "fr", selected: currentLang() === "fr" }, "Français"),
  );
  const staff = !!session && isStaffRole(session.role);
  const links: [string, string][] = session
    ? [
        ["#/", s.messages],
        ...(staff ? ([["#/triage", s.triageQueue], ["#/contacts", s.contacts], ["#/metrics", s.metrics]] as [string, string][]) : []),
        ...(session.role === "facility_admin" ? ([["#/organization", s.organization]] as [string, string][]) : []),
        ["#/settings", s.settings],
      ]
    : [];
  return h(
    "header",
    { class: "top" },
    h("a", { href: "#/", class: "brand" }, s.appName),
    links.length > 0 &&
      h("nav", { class: "sections", "aria-label": s.sections },
        links.map(([href, text]) => h("a", { href, "aria-current": section(href) ? "page" : undefined }, text)),
      ),
    h("div", { class: "tools" },
      h("label", { for: "lang", class: "visually-hidden" }, s.language),
      lang,
      session && h("span", { class: "who" }, session.name),
      session && h("button", { type: "button", onclick: signOut }, s.signOut),
    ),
  );
}

async function render(): Promise<void> {
  if (timer !== undefined) window.clearInterval(timer);
  timer = undefined;
  generation += 1;
  const mine = generation;
  document.documentElement.lang = currentLang();
  const root = document.getElementById("app")!;
  const session = loadSession();
  const main = h("main", { id: "main" });
  show(root, header(session), main);
  if (location.hash === "#/invite") {
    document.title = `${t().invitation} · ${t().appName}`;
    inviteView(main, () => {
      location.hash = "#/";
    });
    return;
  }
  if (!session) {
    document.title = `${t().signIn} · ${t().appName}`;
    const settings = await signInConfig();
    let failure: unknown;
    try {
      if (await returnFromHostedUi(settings)) return;
    } catch (err) {
      failure = err;
    }
    if (mine === generation) await signInView(main, signIn, settings, failure);
    return;
  }
  const ctx: Context = {
    session,
    api: new Api(session, () => renewToken(session)),
    main,
    current: () => mine === generation,
    poll(refresh) {
      if (mine !== generation) return;
      timer = window.setInterval(() => {
        if (mine === generation && document.visibilityState === "visible") refresh().catch(() => undefined);
      }, POLL_MS);
    },
    go(hash) {
      location.hash = hash;
    },
  };
  const [route, arg] = location.hash.replace(/^#\/?/, "").split("/");
  const staff = isStaffRole(session.role);
  try {
    if (route === "thread" && arg) await threadView(ctx, arg);
    else if (route === "new" && session.role === "resident") await composeView(ctx);
    else if (route === "search" && arg) await searchView(ctx, decodeURIComponent(arg));
    else if (route === "settings") await settingsView(ctx);
    else if (route === "triage" && staff) await triageView(ctx);
    else if (route === "contacts" && staff) await contactsView(ctx);
    else if (route === "contact" && arg && staff) await contactView(ctx, arg);
    else if (route === "metrics" && staff) await metricsView(ctx);
    else if (route === "scheduled" && staff) await scheduledView(ctx);
    else if (route === "organization" && session.role === "facility_admin") await organizationView(ctx, arg);
    else await inboxView(ctx, route === "folder" ? arg : undefined);
  } catch (e) {
    if (mine === generation) show(main, h("p", { role: "alert" }, `${t().failed}: ${(e as Error).message}`));
  }
  if (mine !== generation) return;
  // The new view's heading names the page and, unless the user is already typing in it,
  // takes the focus, for screen readers.
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · ${t().appName}` : t().appName;
  if (heading && (document.activeElement === document.body || !document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

/**
 * The links notifications and invitations carry (`/threads/{id}`, `/threads`,
 * `/invite?token=…`) as the page's own routes; an invitation's token moves out of the
 * address bar and the history.
 */
function followLink(): void {
  const path = location.pathname;
  const thread = /^\/threads\/([0-9A-Za-z]+)$/.exec(path);
  let hash: string | null = null;
  if (thread) hash = `#/thread/${thread[1]}`;
  else if (path === "/threads") hash = "#/";
  else if (path === "/invite") {
    const token = new URLSearchParams(location.search).get("token");
    if (token) sessionStorage.setItem(INVITE_TOKEN, token);
    hash = "#/invite";
  }
  if (hash) history.replaceState(null, "", `/${hash}`);
}

followLink();
window.addEventListener("hashchange", () => void render());
void render();
