import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback, section, sender } from "./form";

/**
 * Staff: one contact — how to reach them and their consents with the ledger behind them.
 * Facility admins also correct the details and record a consent given outside the portal,
 * with its evidence.
 */
export async function contactView(ctx: Context, id: string): Promise<void> {
  const s = t();
  const admin = ctx.session.role === "facility_admin";
  const [contact, consents] = await Promise.all([ctx.api.contact(id), ctx.api.contactConsents(id)]);
  if (!ctx.current()) return;
  const ledger = h("div");
  const drawLedger = (list: Schemas["ContactConsents"]) => show(ledger, consentTables(list));
  drawLedger(consents);
  show(
    ctx.main,
    h("a", { href: "#/contacts", class: "back" }, `← ${s.contacts}`),
    h("h1", {}, contact.name),
    h("p", { class: "meta" },
      [s.contactKinds[contact.kind ?? ""] ?? contact.role, s.states[contact.state], contact.property_id, contact.unit && `${s.unit} ${contact.unit}`]
        .filter(Boolean)
        .join(" · "),
    ),
    admin ? detailsForm(ctx, contact) : null,
    ledger,
    admin && consents.items.length > 0 ? recordForm(ctx, id, consents.items, async () => drawLedger(await ctx.api.contactConsents(id))) : null,
  );
}

/** Admins: the contact's name and how to reach them. */
function detailsForm(ctx: Context, loaded: Schemas["Contact"]): HTMLElement {
  // What the server holds: each save compares with it and takes its answer.
  let saved = loaded;
  const s = t();
  const input = (name: string, value: string | null | undefined, attrs: Record<string, string | number | boolean> = {}) =>
    h("input", { name, value: value ?? "", ...attrs }) as HTMLInputElement;
  const name = input("name", saved.name, { required: true, maxlength: 100 });
  // An admin's own address would end their own sign-in: another admin changes it.
  const own = loaded.id === ctx.session.userId;
  const email = input("email", saved.email, { type: "email", maxlength: 254, ...(own ? { disabled: true, title: s.ownEmail } : {}) });
  const phone = input("phone", saved.phone, { type: "tel", maxlength: 16, placeholder: "+15145550100" });
  const property = input("property_id", saved.property_id, { maxlength: 64 });
  const unit = input("unit", saved.unit, { maxlength: 20 });
  // Only what changed is sent: an untouched field stays as it is on the server, an
  // emptied one is sent as null, which clears it (a resident keeps a property and a unit:
  // the server refuses to clear those).
  const changed = (box: HTMLInputElement, before: string | null | undefined) => {
    const now = box.value.trim();
    if (now === (before ?? "")) return undefined;
    return now || null;
  };
  return section(
    s.contactDetails,
    [
      field(s.name, name),
      h("div", { class: "row" }, field(s.email, email), field(s.phone, phone)),
      h("div", { class: "row" }, field(s.property, property), field(s.unit, unit)),
    ],
    async () => {
      if (!name.value.trim()) throw new Error(s.nameRequired);
      const patch: Schemas["ContactPatch"] = {
        name: changed(name, saved.name) ?? undefined,
        email: changed(email, saved.email),
        phone: changed(phone, saved.phone),
        property_id: changed(property, saved.property_id),
        unit: changed(unit, saved.unit),
      };
      // A new address, or none, ends the sign-in and any invitation of the old one (other
      // capitals of the same one do not: sign-ins ignore case).
      const mailbox = (address: string | null | undefined) => (address ?? "").trim().toLowerCase();
      const moves = patch.email !== undefined && mailbox(patch.email) !== mailbox(saved.email);
      if (moves && saved.email && !window.confirm(`${s.confirmEmailChange} ${saved.name}`)) throw new Error(s.notSaved);
      saved = await ctx.api.updateContact(saved.id, patch);
    },
  );
}

/** Where the contact stands with each category, and every change with its source and proof. */
function consentTables(list: Schemas["ContactConsents"]): HTMLElement[] {
  const s = t();
  const names = new Map(list.items.map((c) => [c.category_id, c.name]));
  const head = (cells: string[]) => h("thead", {}, h("tr", {}, cells.map((c) => h("th", { scope: "col" }, c))));
  return [
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("caption", {}, s.consentsOf),
        head([s.category, s.consentMode, s.receives, s.decidedAt]),
        h("tbody", {},
          list.items.length
            ? list.items.map((c) =>
                h("tr", {},
                  h("td", {}, c.name),
                  h("td", {}, s.consentModes[c.consent] ?? c.consent),
                  h("td", {}, c.subscribed ? s.yes : s.no),
                  h("td", {}, c.updated_at ? when(c.updated_at) : s.byDefault),
                ),
              )
            : h("tr", {}, h("td", { colspan: 4, class: "empty" }, s.noConsents)),
        ),
      ),
    ),
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("caption", {}, s.consentLedger),
        head([s.when, s.category, s.receives, s.source, s.evidence]),
        h("tbody", {},
          list.history.length
            ? [...list.history].reverse().map((e) =>
                h("tr", {},
                  h("td", {}, h("time", { datetime: e.at }, when(e.at))),
                  h("td", {}, names.get(e.category_id) ?? e.category_id),
                  h("td", {}, e.subscribed ? s.yes : s.no),
                  h("td", {}, `${s.sources[e.source] ?? e.source} (${s.bases[e.basis] ?? e.basis})`),
                  h("td", { class: "body" }, e.evidence ?? ""),
                ),
              )
            : h("tr", {}, h("td", { colspan: 5, class: "empty" }, s.noHistory)),
        ),
      ),
    ),
  ];
}

/** Admins: a consent the contact gave or withdrew outside the portal, with what proves it. */
function recordForm(ctx: Context, id: string, categories: Schemas["ConsentView"][], recorded: () => Promise<void>): HTMLElement {
  const s = t();
  const say = feedback();
  const category = h("select", { name: "category_id" }, categories.map((c) => h("option", { value: c.category_id }, c.name))) as HTMLSelectElement;
  const decision = h(
    "select",
    { name: "subscribed" },
    h("option", { value: "true" }, s.consentGiven),
    h("option", { value: "false" }, s.consentWithdrawn),
  ) as HTMLSelectElement;
  const evidence = h("textarea", { name: "evidence", rows: 3, maxlength: 2000, required: true, placeholder: s.evidenceHint }) as HTMLTextAreaElement;
  const button = h("button", { type: "submit" }, s.record) as HTMLButtonElement;
  const submit = sender(button, say, async () => {
    await ctx.api.recordConsent(id, { category_id: category.value, subscribed: decision.value === "true", evidence: evidence.value.trim() });
    evidence.value = "";
    await recorded();
    return s.saved;
  });
  return h(
    "form",
    { class: "card settings", onsubmit: submit, "aria-labelledby": "record-consent-h" },
    h("h2", { id: "record-consent-h" }, s.recordConsent),
    h("div", { class: "row" }, field(s.category, category), field(s.decision, decision)),
    field(s.evidence, evidence),
    h("div", { class: "actions" }, button),
    say.element,
  );
}
