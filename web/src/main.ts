import "./style.css";
import { Api, type Session } from "./api";
import type { Context } from "./context";
import { h, show } from "./dom";
import { currentLang, setLang, t, type Lang } from "./i18n";
import { signInView } from "./views/signin";
import { inboxView } from "./views/inbox";
import { threadView } from "./views/thread";
import { composeView } from "./views/compose";

const SESSION = "session";
/** How often an open list or thread asks for what is new. */
const POLL_MS = 4000;

let timer: number | undefined;

function loadSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION);
  return raw ? (JSON.parse(raw) as Session) : null;
}

function signIn(session: Session): void {
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  location.hash = "#/";
  render();
}

function signOut(): void {
  sessionStorage.removeItem(SESSION);
  location.hash = "#/";
  render();
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
  return h(
    "header",
    { class: "top" },
    h("a", { href: "#/", class: "brand" }, s.appName),
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
  document.documentElement.lang = currentLang();
  const root = document.getElementById("app")!;
  const session = loadSession();
  const main = h("main", { id: "main" });
  show(root, header(session), main);
  if (!session) {
    await signInView(main, signIn);
    return;
  }
  const ctx: Context = {
    session,
    api: new Api(session),
    main,
    poll(refresh) {
      timer = window.setInterval(() => {
        if (document.visibilityState === "visible") refresh().catch(() => undefined);
      }, POLL_MS);
    },
    go(hash) {
      location.hash = hash;
    },
  };
  const [route, arg] = location.hash.replace(/^#\/?/, "").split("/");
  try {
    if (route === "thread" && arg) await threadView(ctx, arg);
    else if (route === "new") await composeView(ctx);
    else await inboxView(ctx, route === "folder" ? arg : undefined);
  } catch (e) {
    show(main, h("p", { role: "alert" }, `${t().failed}: ${(e as Error).message}`));
  }
}

window.addEventListener("hashchange", () => void render());
void render();
