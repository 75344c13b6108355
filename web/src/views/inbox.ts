import type { Folder, ThreadSummary } from "../api";
import { h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";

const STAFF_FOLDERS: Folder[] = ["unread", "open", "resolved", "archived"];
const PAGE = 25;
/** The most rows one request lists (the API's limit). */
const MAX_PAGE = 100;

export function isStaff(ctx: Context): boolean {
  return ctx.session.role === "staff" || ctx.session.role === "facility_admin";
}

/** Staff: the four folders, unread counted. Residents: their active conversations and the archived ones. */
export async function inboxView(ctx: Context, requested: string | undefined): Promise<void> {
  const s = t();
  const staff = isStaff(ctx);
  const folder = STAFF_FOLDERS.find((f) => f === requested) ?? (staff ? "unread" : undefined);
  const tabs = staff
    ? STAFF_FOLDERS.map((f) => ({ key: f as string, label: s[f], href: `#/folder/${f}` }))
    : [
        { key: "inbox", label: s.inbox, href: "#/" },
        { key: "archived", label: s.archived, href: "#/folder/archived" },
      ];
  const current = folder ?? "inbox";
  const unreadCount = h("span", { class: "count", "aria-live": "polite" });
  const nav = h(
    "nav",
    { class: "folders", "aria-label": s.messages },
    tabs.map((tab) =>
      h(
        "a",
        { href: tab.href, "aria-current": tab.key === current ? "page" : undefined },
        tab.label,
        tab.key === "unread" ? unreadCount : null,
      ),
    ),
  );
  const list = h("ul", { class: "threads" });
  const more = h("div");
  const say = feedback();
  show(
    ctx.main,
    h("div", { class: "heading" },
      h("h1", {}, s.messages),
      !staff && h("button", { type: "button", onclick: () => ctx.go("#/new") }, s.newConversation),
    ),
    nav,
    list,
    more,
  );

  // What is listed: the first page, or, once "Load more" was used, as many rows as have
  // been loaded (each poll reads them all again, so no row goes stale or falls between).
  let rows: ThreadSummary[] = [];
  let cursor: string | null | undefined;
  let wanted = PAGE;
  let shown = "";
  const residentsOwn = (items: ThreadSummary[]) =>
    // Residents' inbox: everything not archived.
    folder ? items : items.filter((i) => i.status !== "archived");
  const moreButton = h("button", { type: "button", hidden: true }, s.loadMore) as HTMLButtonElement;
  moreButton.addEventListener("click", async () => {
    moreButton.disabled = true;
    try {
      const page = await ctx.api.threads(folder, cursor ?? undefined);
      const known = new Set(rows.map((r) => r.id));
      const added = page.items.filter((i) => !known.has(i.id));
      rows = [...rows, ...added];
      cursor = page.next_cursor;
      wanted = Math.min(MAX_PAGE, rows.length);
      draw();
      // The keyboard goes on from the first row it brought.
      const first = added[0] && list.querySelector<HTMLAnchorElement>(`a[href="#/thread/${added[0].id}"]`);
      (first ?? moreButton).focus();
    } catch (err) {
      say.fail(err);
    } finally {
      moreButton.disabled = false;
    }
  });
  show(more, moreButton, say.element);
  const draw = () => {
    const items = residentsOwn(rows);
    moreButton.hidden = !cursor;
    // Redrawn only when something changed, so polling never takes the focus away.
    const now = JSON.stringify(items);
    if (now === shown) return;
    shown = now;
    show(list, items.length ? items.map((i) => row(ctx, i)) : h("li", { class: "empty" }, s.noThreads));
  };
  const load = async () => {
    const page = await ctx.api.threads(folder, undefined, wanted);
    if (!ctx.current()) return;
    rows = page.items;
    cursor = page.next_cursor;
    draw();
    if (staff) {
      const unread = folder === "unread" ? page : await ctx.api.threads("unread");
      const count = unread.items.length ? ` ${unread.items.length}${unread.next_cursor ? "+" : ""}` : "";
      if (unreadCount.textContent !== count) unreadCount.textContent = count;
    }
  };
  await load();
  ctx.poll(load);
}

function row(ctx: Context, thread: ThreadSummary): HTMLElement {
  const s = t();
  const topic = s.topics[thread.topic] ?? thread.topic;
  const resident = thread.resident;
  return h(
    "li",
    { class: thread.unread ? "thread unread" : "thread" },
    h(
      "a",
      { href: `#/thread/${thread.id}` },
      h("span", { class: "subject" }, thread.subject),
      h("span", { class: "meta" },
        isStaff(ctx) && `${resident.name}${resident.unit ? ` · ${s.unit} ${resident.unit}` : ""} · `,
        topic,
        ` · ${s.statuses[thread.status] ?? thread.status}`,
      ),
      thread.last_message && h("span", { class: "preview" }, thread.last_message.body_preview),
      h("time", { datetime: thread.updated_at }, when(thread.updated_at)),
    ),
  );
}
