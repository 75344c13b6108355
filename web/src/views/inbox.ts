import { isStaffRole, type Filters, type Folder, type Schemas, type ThreadSummary } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";

const STAFF_FOLDERS: Schemas["ThreadStatus"][] = ["unread", "open", "resolved", "archived"];
const PAGE = 25;
/** The most rows one request lists (the API's limit). */
const MAX_PAGE = 100;
/** Where the staff inbox's filters are kept for the tab's session (every folder uses them). */
export const FILTERS = "filters";

export function isStaff(ctx: Context): boolean {
  return isStaffRole(ctx.session.role);
}

/** Staff: the four folders, unread counted. Residents: their active conversations and the archived ones. */
export async function inboxView(ctx: Context, requested: string | undefined): Promise<void> {
  const s = t();
  const staff = isStaff(ctx);
  // Residents' inbox is every conversation not archived (the server leaves those out).
  const folder: Folder = STAFF_FOLDERS.find((f) => f === requested) ?? (staff ? "unread" : "active");
  const tabs = staff
    ? STAFF_FOLDERS.map((f) => ({ key: f as string, label: s[f], href: `#/folder/${f}` }))
    : [
        { key: "inbox", label: s.inbox, href: "#/" },
        { key: "archived", label: s.archived, href: "#/folder/archived" },
      ];
  const current = folder === "active" ? "inbox" : folder;
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
  let filters: Filters = staff ? savedFilters() : {};
  const bar = staff ? h("div") : null;
  show(
    ctx.main,
    h("div", { class: "heading" },
      h("h1", {}, s.messages),
      !staff && h("button", { type: "button", onclick: () => ctx.go("#/new") }, s.newConversation),
      staff && h("a", { href: "#/scheduled" }, s.scheduledMessages),
    ),
    searchForm(ctx, ""),
    nav,
    bar,
    list,
    more,
  );

  // What is listed: the first page, or, once "Load more" was used, as many rows as have
  // been loaded (each poll reads them all again, so no row goes stale or falls between).
  let rows: ThreadSummary[] = [];
  let cursor: string | null | undefined;
  let wanted = PAGE;
  let shown = "";
  const moreButton = h("button", { type: "button", hidden: true }, s.loadMore) as HTMLButtonElement;
  moreButton.addEventListener("click", async () => {
    moreButton.disabled = true;
    try {
      const page = await ctx.api.threads(folder, cursor ?? undefined, PAGE, filters);
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
    const items = rows;
    moreButton.hidden = !cursor;
    // Redrawn only when something changed, so polling never takes the focus away.
    const now = JSON.stringify(items);
    if (now === shown) return;
    shown = now;
    show(list, items.length ? items.map((i) => row(ctx, i)) : h("li", { class: "empty" }, s.noThreads));
  };
  // Each answer is applied only if no later request was made meanwhile (a poll that started
  // before a filter changed must not bring back the old filter's rows).
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const page = await ctx.api.threads(folder, undefined, wanted, filters);
    if (!ctx.current() || mine !== asked) return;
    rows = page.items;
    cursor = page.next_cursor;
    draw();
    if (staff) {
      const unread = folder === "unread" ? page : await ctx.api.threads("unread", undefined, PAGE, filters);
      if (mine !== asked) return;
      const count = unread.items.length ? ` ${unread.items.length}${unread.next_cursor ? "+" : ""}` : "";
      if (unreadCount.textContent !== count) unreadCount.textContent = count;
    }
  };
  if (bar) {
    const staffList = await ctx.api.staff().catch(() => []);
    filters = visibleFilters(ctx, filters, staffList);
    const refilter = async (next: Filters) => {
      filters = next;
      sessionStorage.setItem(FILTERS, JSON.stringify(filters));
      wanted = PAGE;
      try {
        await load();
      } catch (err) {
        say.fail(err);
      }
    };
    show(bar, filterBar(ctx, filters, staffList, refilter));
  }
  await load();
  ctx.poll(load);
}

function savedFilters(): Filters {
  try {
    return JSON.parse(sessionStorage.getItem(FILTERS) ?? "{}") as Filters;
  } catch {
    return {};
  }
}

/** The colleagues an inbox can be narrowed to: active staff but the user. */
function colleagues(ctx: Context, staffList: Schemas["Contact"][]): [string, string][] {
  return staffList.filter((c) => c.id !== ctx.session.userId && c.state === "active").map((c) => [c.id, c.name]);
}

/** Only the saved filters the bar can show: nothing narrows the list unseen. */
function visibleFilters(ctx: Context, filters: Filters, staffList: Schemas["Contact"][]): Filters {
  const s = t();
  const shows = {
    topic: Object.keys(s.topics),
    property_id: ctx.session.propertyIds.length > 1 ? ctx.session.propertyIds : [],
    assignee: ["me", ...colleagues(ctx, staffList).map(([id]) => id)],
    priority: Object.keys(s.priorities),
  };
  return Object.fromEntries(
    Object.entries(filters).filter(([name, value]) => shows[name as keyof Filters]?.includes(value)),
  ) as Filters;
}

/** Staff: topic, property, assignee and priority; each change lists again at once. */
function filterBar(
  ctx: Context,
  filters: Filters,
  staffList: Schemas["Contact"][],
  change: (next: Filters) => Promise<void>,
): HTMLElement {
  const s = t();
  const select = (name: keyof Filters, label: string, any: string, options: [string, string][]) => {
    const control = h(
      "select",
      {
        name,
        onchange: (e: Event) => {
          const value = (e.target as HTMLSelectElement).value;
          filters = { ...filters, [name]: value || undefined };
          void change(filters);
        },
      },
      h("option", { value: "" }, any),
      options.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)),
    );
    return field(label, control);
  };
  const others = colleagues(ctx, staffList);
  return h(
    "fieldset",
    { class: "filters" },
    h("legend", { class: "visually-hidden" }, s.filters),
    select("topic", s.topic, s.anyTopic, Object.entries(s.topics)),
    ctx.session.propertyIds.length > 1 &&
      select("property_id", s.property, s.anyProperty, ctx.session.propertyIds.map((p) => [p, p])),
    select("assignee", s.assignee, s.anyone, [["me", s.me], ...others]),
    select("priority", s.priority, s.anyPriority, Object.entries(s.priorities)),
  );
}

/** A search box: its results are a page of their own (`#/search/<words>`). */
export function searchForm(ctx: Context, words: string): HTMLElement {
  const s = t();
  const input = h("input", { type: "search", name: "q", value: words, maxlength: 200 }) as HTMLInputElement;
  return h(
    "form",
    {
      role: "search",
      class: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (input.value.trim()) ctx.go(`#/search/${encodeURIComponent(input.value.trim())}`);
      },
    },
    field(s.search, input),
    h("button", { type: "submit" }, s.search),
  );
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
      h("span", { class: "subject" },
        thread.subject,
        thread.priority === "urgent" && h("span", { class: "badge urgent" }, s.priorities.urgent),
      ),
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
