import type { Folder, ThreadSummary } from "../api";
import { h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";

const STAFF_FOLDERS: Folder[] = ["unread", "open", "resolved", "archived"];

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

  // Pages after the first, as "Load more" fetched them; polling refreshes the first.
  let first: ThreadSummary[] = [];
  let later: ThreadSummary[] = [];
  let cursor: string | null | undefined;
  let shown = "";
  const residentsOwn = (items: ThreadSummary[]) =>
    // Residents' inbox: everything not archived.
    folder ? items : items.filter((i) => i.status !== "archived");
  const draw = () => {
    const items = residentsOwn([...first, ...later.filter((l) => !first.some((f) => f.id === l.id))]);
    // Redrawn only when something changed, so polling never takes the focus away.
    const now = JSON.stringify([items, cursor]);
    if (now === shown) return;
    shown = now;
    show(list, items.length ? items.map((i) => row(ctx, i)) : h("li", { class: "empty" }, s.noThreads));
    show(
      more,
      cursor &&
        h("button", {
          type: "button",
          onclick: async () => {
            const page = await ctx.api.threads(folder, cursor ?? undefined);
            later = [...later, ...page.items];
            cursor = page.next_cursor;
            draw();
          },
        }, s.loadMore),
    );
  };
  const load = async () => {
    const page = await ctx.api.threads(folder);
    if (!ctx.current()) return;
    first = page.items;
    if (later.length === 0) cursor = page.next_cursor;
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
