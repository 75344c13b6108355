import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";

const KINDS = ["resident", "owner", "staff", "vendor"];

/** Staff: the organization's contacts, by name prefix and kind, with how to reach them. */
export async function contactsView(ctx: Context): Promise<void> {
  const s = t();
  const say = feedback();
  const name = h("input", { type: "search", name: "q", maxlength: 100 }) as HTMLInputElement;
  const kind = h(
    "select",
    { name: "kind" },
    h("option", { value: "" }, s.anyKind),
    KINDS.map((k) => h("option", { value: k }, s.contactKinds[k] ?? k)),
  ) as HTMLSelectElement;
  const table = h("tbody");
  const more = h("button", { type: "button", hidden: true }, s.loadMore) as HTMLButtonElement;
  let cursor: string | null | undefined;
  let asked = 0;
  const list = async (append: boolean) => {
    const mine = ++asked;
    table.setAttribute("aria-busy", "true");
    const page = await ctx.api
      .contacts(name.value.trim(), kind.value, append ? (cursor ?? undefined) : undefined)
      .finally(() => mine === asked && table.removeAttribute("aria-busy"));
    // A newer search answered first: this one is stale.
    if (mine !== asked || !ctx.current()) return;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const rows = page.items.map(row);
    if (append) table.append(...rows);
    else show(table, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "empty" }, s.noResults)));
  };
  const search = (e: Event) => {
    e.preventDefault();
    list(false).catch((err: unknown) => say.fail(err));
  };
  more.addEventListener("click", () => list(true).catch((err: unknown) => say.fail(err)));
  kind.addEventListener("change", search);
  show(
    ctx.main,
    h("h1", {}, s.contacts),
    h("form", { role: "search", class: "filters", onsubmit: search, "aria-label": s.contacts },
      field(s.name, name),
      field(s.kind, kind),
      h("div", { class: "field" }, h("button", { type: "submit" }, s.search)),
    ),
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("thead", {}, h("tr", {}, [s.name, s.kind, s.unit, s.email, s.phone].map((c) => h("th", { scope: "col" }, c)))),
        table,
      ),
    ),
    more,
    say.element,
  );
  await list(false);
}

function row(c: Schemas["Contact"]): HTMLElement {
  const s = t();
  const kind = c.kind ?? (c.role === "resident" ? "resident" : "staff");
  const state = c.state === "active" ? "" : ` (${s.states[c.state] ?? c.state})`;
  return h(
    "tr",
    {},
    h("td", {}, `${c.name}${state}`),
    h("td", {}, s.contactKinds[kind] ?? kind),
    h("td", {}, [c.property_id, c.unit].filter(Boolean).join(" · ")),
    h("td", {}, c.email ? h("a", { href: `mailto:${c.email}` }, c.email) : ""),
    h("td", {}, c.phone ? h("a", { href: `tel:${c.phone}` }, c.phone) : ""),
  );
}
