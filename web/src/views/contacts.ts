import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { clicked, feedback, sender, type Feedback } from "./form";

const KINDS = ["resident", "owner", "staff", "vendor"];

/**
 * Staff: the organization's contacts, by name prefix and kind, with how to reach them.
 * Facility admins also add contacts and invite, archive, restore, lock and unlock them.
 */
export async function contactsView(ctx: Context): Promise<void> {
  const s = t();
  const say = feedback();
  const admin = ctx.session.role === "facility_admin";
  const row = (c: Schemas["Contact"], managing = false): HTMLElement => {
    const tr = contactRow(c);
    if (!admin) return tr;
    const changed = (next: Schemas["Contact"]) => {
      // The new row keeps its actions open, and the focus on them.
      const fresh = row(next, true);
      tr.replaceWith(fresh);
      fresh.querySelector("summary")?.focus();
    };
    tr.append(h("td", {}, manage(ctx, c, changed, say, managing)));
    return tr;
  };
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
    const rows = page.items.map((c) => row(c));
    if (append) table.append(...rows);
    else show(table, rows.length ? rows : h("tr", {}, h("td", { colspan: admin ? 6 : 5, class: "empty" }, s.noResults)));
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
        h("thead", {}, h("tr", {}, [s.name, s.kind, s.unit, s.email, s.phone, admin && s.actions].filter(Boolean).map((c) => h("th", { scope: "col" }, c)))),
        table,
      ),
    ),
    more,
    say.element,
    admin && newContactForm(ctx, (c) => {
      // The new contact leads the list, whatever it was filtered by.
      table.querySelector(".empty")?.closest("tr")?.remove();
      table.prepend(row(c));
    }),
  );
  await list(false);
}

/** Admins: what may be done to an account, as it stands; `changed` gets the contact after. */
function manage(
  ctx: Context,
  c: Schemas["Contact"],
  changed: (c: Schemas["Contact"]) => void,
  say: Feedback,
  open: boolean,
): HTMLElement {
  const s = t();
  const act = (run: () => Promise<Schemas["Contact"]>, done: string, confirm?: string) =>
    clicked(say, async () => changed(await run()), `${c.name}: ${done}`, confirm);
  const invite = clicked(say, () => ctx.api.invite(c.id), (sent) => `${c.name}: ${s.invited} ${when(sent.expires_at)}`);
  const reason = h("input", { maxlength: 500, required: true }) as HTMLInputElement;
  const lock = (e: Event) => {
    if (!reason.value.trim()) {
      reason.setCustomValidity(s.lockReasonRequired);
      reason.reportValidity();
      return;
    }
    reason.setCustomValidity("");
    void act(() => ctx.api.contactAction(c.id, "lock", reason.value.trim()), s.states.locked)(e);
  };
  const button = (text: string, onclick: (e: Event) => void) =>
    h("button", { type: "button", class: "link", "aria-label": `${text}: ${c.name}`, onclick }, text);
  return h(
    "details",
    { class: "manage", open },
    h("summary", { "aria-label": `${s.manage}: ${c.name}` }, s.manage),
    h("div", { class: "actions" },
      c.email && c.state === "active" && button(s.invite, invite),
      c.state === "archived"
        ? button(s.restore, act(() => ctx.api.contactAction(c.id, "unarchive"), s.states.active))
        : // Staff lose access at once; residents keep reading and writing to staff.
          button(s.archive, act(() => ctx.api.contactAction(c.id, "archive"), s.states.archived, `${s.confirmArchive} ${c.name}`)),
      c.state === "locked" && button(s.unlock, act(() => ctx.api.contactAction(c.id, "unlock"), s.states.active)),
    ),
    c.state === "active" && h("div", { class: "actions" }, field(`${s.lockReason}: ${c.name}`, reason), button(s.lock, lock)),
  );
}

/** Admins: a new contact (invited afterwards from its row). */
function newContactForm(ctx: Context, created: (c: Schemas["Contact"]) => void): HTMLElement {
  const s = t();
  const say = feedback();
  const kind = h("select", { name: "new_kind" }, KINDS.map((k) => h("option", { value: k }, s.contactKinds[k] ?? k))) as HTMLSelectElement;
  const input = (name: string, attrs: Record<string, string | number | boolean> = {}) =>
    h("input", { name, ...attrs }) as HTMLInputElement;
  const name = input("new_name", { required: true, maxlength: 100 });
  const email = input("new_email", { type: "email", maxlength: 254 });
  const phone = input("new_phone", { type: "tel", placeholder: "+15145550100", maxlength: 16 });
  const property = input("new_property", { maxlength: 64 });
  const unit = input("new_unit", { maxlength: 20 });
  const button = h("button", { type: "submit" }, s.create) as HTMLButtonElement;
  const form = h(
    "form",
    { class: "card settings", "aria-labelledby": "new-contact-h" },
    h("h2", { id: "new-contact-h" }, s.newContact),
    h("div", { class: "row" }, field(s.kind, kind), field(s.name, name)),
    h("div", { class: "row" }, field(s.email, email), field(s.phone, phone)),
    h("div", { class: "row" }, field(s.property, property), field(s.unit, unit)),
    h("div", { class: "actions" }, button),
    say.element,
  ) as HTMLFormElement;
  const optional = (field: HTMLInputElement) => field.value.trim() || null;
  form.addEventListener(
    "submit",
    sender(button, say, async (key) => {
      const contact = await ctx.api.createContact(
        {
          kind: kind.value as Schemas["ContactKind"],
          name: name.value.trim(),
          email: optional(email),
          phone: optional(phone),
          property_id: optional(property),
          unit: optional(unit),
        },
        key,
      );
      form.reset();
      created(contact);
      return `${contact.name}: ${s.created}`;
    }),
  );
  return form;
}

function contactRow(c: Schemas["Contact"]): HTMLElement {
  const s = t();
  const kind = c.kind ?? (c.role === "resident" ? "resident" : "staff");
  const state = c.state === "active" ? "" : ` (${s.states[c.state] ?? c.state})`;
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/contact/${encodeURIComponent(c.id)}` }, c.name), state),
    h("td", {}, s.contactKinds[kind] ?? kind),
    h("td", {}, [c.property_id, c.unit].filter(Boolean).join(" · ")),
    h("td", {}, c.email ? h("a", { href: `mailto:${c.email}` }, c.email) : ""),
    h("td", {}, c.phone ? h("a", { href: `tel:${c.phone}` }, c.phone) : ""),
  );
}
