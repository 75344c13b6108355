import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { checkbox, feedback, sender } from "./form";

const MODES: Schemas["ConsentMode"][] = ["transactional", "request", "opt_in", "opt_out"];
/** The built-in category of service messages. */
const SERVICE = "service";

/** Facility admins: the communication categories (consent rules), listed, created and edited. */
export async function categoriesPanel(ctx: Context): Promise<HTMLElement> {
  const panel = h("div");
  const done = feedback();
  const draw = async () => show(panel, await categoriesTable(ctx, async () => {
    await draw();
    done.say(t().saved);
  }), done.element);
  await draw();
  return panel;
}

async function categoriesTable(ctx: Context, saved: () => Promise<void>): Promise<HTMLElement[]> {
  const s = t();
  const [categories, staffList, routing] = await Promise.all([ctx.api.categories(), ctx.api.staff(), ctx.api.routing()]);
  const active = staffList.filter((c) => c.state === "active");
  // The topics residents choose from: the known ones and every routed one.
  const topicNames = [...new Set([...Object.keys(s.topics), ...Object.keys(routing.routes)])];
  const nameOf = (id: string) => staffList.find((c) => c.id === id)?.name ?? id;
  const formSlot = h("div");
  const edit = (category?: Schemas["Category"]) => {
    show(formSlot, categoryForm(ctx, { staff: active, names: nameOf, topics: topicNames }, saved, category));
    formSlot.querySelector("input")?.focus();
  };
  const rows = categories.map((c) =>
    h(
      "tr",
      {},
      h("td", {}, c.name),
      h("td", {}, s.consentModes[c.consent] ?? c.consent),
      h("td", {}, c.topics.map((topic) => s.topics[topic] ?? topic).join(", ")),
      h("td", {}, [...c.auditors, ...c.dispatchers].length ? `${c.auditors.map(nameOf).join(", ") || "—"} / ${c.dispatchers.map(nameOf).join(", ") || "—"}` : "—"),
      // The built-in category is the API's own: it cannot be changed.
      h("td", {}, c.id !== SERVICE && h("button", { type: "button", class: "link", "aria-label": `${s.edit}: ${c.name}`, onclick: () => edit(c) }, s.edit)),
    ),
  );
  return [
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("caption", { class: "visually-hidden" }, s.categories),
        h("thead", {}, h("tr", {}, [s.name, s.consentMode, s.topicsLabel, s.auditorsDispatchers, ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows),
      ),
    ),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => edit() }, s.newCategory)),
    formSlot,
  ];
}

/** A category's fields; its consent mode is chosen once, when it is created. */
/** What a category's fields offer: active staff (named), and the topics. */
interface Choices {
  staff: Schemas["Contact"][];
  names: (id: string) => string;
  topics: string[];
}

function categoryForm(ctx: Context, choices: Choices, done: () => Promise<void>, saved?: Schemas["Category"]): HTMLElement {
  const s = t();
  const say = feedback();
  const name = h("input", { name: "name", required: true, maxlength: 80, value: saved?.name ?? "" }) as HTMLInputElement;
  const mode = h(
    "select",
    { name: "consent", disabled: !!saved },
    MODES.map((m) => h("option", { value: m, selected: (saved?.consent ?? "opt_in") === m }, s.consentModes[m])),
  ) as HTMLSelectElement;
  const topics = [...new Set([...choices.topics, ...(saved?.topics ?? [])])].map((topic) => ({
    topic,
    box: checkbox(s.topics[topic] ?? topic, saved?.topics.includes(topic) ?? false),
  }));
  // Active staff, and whoever the category already names (a locked auditor stays unless
  // unselected).
  const people = (chosen: string[]) => {
    const ids = [...new Set([...choices.staff.map((c) => c.id), ...chosen])];
    return h("select", { multiple: true, size: Math.min(5, Math.max(2, ids.length)) },
      ids.map((id) => h("option", { value: id, selected: chosen.includes(id) }, choices.names(id))),
    ) as HTMLSelectElement;
  };
  const auditors = people(saved?.auditors ?? []);
  const dispatchers = people(saved?.dispatchers ?? []);
  const chosen = (select: HTMLSelectElement) => [...select.selectedOptions].map((o) => o.value);
  const button = h("button", { type: "submit" }, saved ? s.save : s.create) as HTMLButtonElement;
  const submit = sender(button, say, async () => {
    const next = {
      name: name.value.trim(),
      topics: topics.filter((t) => t.box[0].checked).map((t) => t.topic),
      auditors: chosen(auditors),
      dispatchers: chosen(dispatchers),
    };
    // A change sends only what changed: a colleague's concurrent change to another field stays.
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const change: Schemas["WriteCategory"] = saved
      ? Object.fromEntries(Object.entries(next).filter(([field, value]) => !same(value, saved[field as keyof typeof next])))
      : { ...next, consent: mode.value as Schemas["ConsentMode"] };
    await ctx.api.saveCategory(change, saved?.id);
    // The list shows what was saved; the form goes.
    await done();
    return true;
  });
  return h(
    "form",
    { class: "card settings", onsubmit: submit, "aria-label": saved ? `${s.edit}: ${saved.name}` : s.newCategory },
    h("h2", {}, saved ? `${s.edit}: ${saved.name}` : s.newCategory),
    field(s.name, name),
    field(s.consentMode, mode),
    saved && h("p", { class: "meta" }, s.consentFixed),
    h("fieldset", { class: "week" }, h("legend", {}, s.categoryTopics), topics.map((t) => t.box[1])),
    field(s.auditors, auditors),
    field(s.dispatchers, dispatchers),
    h("div", { class: "actions" }, button),
    say.element,
  );
}
