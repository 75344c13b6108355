import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { clicked, commaList, feedback, sender as sending } from "./form";

const KINDS: Schemas["CampaignKind"][] = ["message", "consent_request"];

/** Facility admins: campaigns with their live counts, a new one, and Cancel while one has not finished. */
export async function campaignsPanel(ctx: Context): Promise<HTMLElement> {
  const s = t();
  const categories = await ctx.api.categories();
  const list = h("tbody");
  const say = feedback();
  const nameOf = (id: string) => categories.find((c) => c.id === id)?.name ?? id;
  let shown = "";
  const draw = async () => {
    const page = await ctx.api.campaigns();
    if (!ctx.current()) return;
    // Redrawn only when a count or status moved, so polling never takes the focus away.
    const now = JSON.stringify(page.items);
    if (now === shown) return;
    shown = now;
    show(list, page.items.length ? page.items.map(row) : h("tr", {}, h("td", { colspan: 6, class: "empty" }, s.noCampaigns)));
  };
  const row = (c: Schemas["CampaignBody"]) => {
    const { counts } = c;
    const skipped = counts.skipped_no_consent + counts.skipped_archived + counts.skipped_no_address + (counts.skipped_decided ?? 0);
    const label = `${s.campaignKinds[c.kind]}: ${c.subject ?? nameOf(c.category_id)}`;
    const cancel = clicked(
      say,
      async () => {
        await ctx.api.cancelCampaign(c.id);
        await draw();
      },
      `${label}: ${s.campaignStatuses.cancelled}`,
      `${s.confirmCancel} ${label}`,
    );
    return h(
      "tr",
      {},
      h("td", {}, label),
      h("td", {}, nameOf(c.category_id)),
      h("td", {}, h("time", { datetime: c.send_at }, when(c.send_at))),
      h("td", {}, s.campaignStatuses[c.status] ?? c.status),
      h("td", {}, `${counts.sent} / ${counts.targeted}`, skipped ? ` (${s.skipped} ${skipped})` : "", counts.failed ? ` (${s.failedCount} ${counts.failed})` : ""),
      h("td", {}, (c.status === "scheduled" || c.status === "running") &&
        h("button", { type: "button", class: "link", "aria-label": `${s.cancel}: ${label}`, onclick: cancel }, s.cancel)),
    );
  };
  await draw();
  // The counts move while a campaign runs.
  ctx.poll(draw);
  return h(
    "div",
    {},
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("caption", { class: "visually-hidden" }, s.campaigns),
        h("thead", {}, h("tr", {}, [s.campaign, s.category, s.when, s.status, s.sentOfTargeted, ""].map((c) => h("th", { scope: "col" }, c)))),
        list,
      ),
    ),
    say.element,
    campaignForm(ctx, categories, draw),
  );
}

/** A new campaign: its kind, category, audience, words and start. */
function campaignForm(ctx: Context, categories: Schemas["Category"][], created: () => Promise<void>): HTMLElement {
  const s = t();
  const say = feedback();
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k }, s.campaignKinds[k]))) as HTMLSelectElement;
  const category = h("select", { name: "category", required: true }) as HTMLSelectElement;
  const sender = h("input", { name: "sender_name", maxlength: 120 }) as HTMLInputElement;
  const senderField = field(s.senderName, sender);
  // A consent request asks about a category that needs asking, and says who asks (CASL); a
  // message goes in any category (to those who consent).
  const offer = () => {
    const asking = kind.value === "consent_request";
    show(
      category,
      categories
        .filter((c) => !asking || c.consent === "request")
        .map((c) => h("option", { value: c.id }, `${c.name} (${s.consentModes[c.consent] ?? c.consent})`)),
    );
    senderField.hidden = !asking;
    sender.required = asking;
  };
  kind.addEventListener("change", offer);
  offer();
  const properties = h("input", { name: "properties", required: true, placeholder: "p1, p2" }) as HTMLInputElement;
  const units = h("input", { name: "units", placeholder: "101, 102" }) as HTMLInputElement;
  const subject = h("input", { name: "subject", maxlength: 200 }) as HTMLInputElement;
  const body = h("textarea", { name: "body", rows: 4, maxlength: 5000 }) as HTMLTextAreaElement;
  const start = h("input", { type: "datetime-local", name: "send_at" }) as HTMLInputElement;
  const button = h("button", { type: "submit" }, s.create) as HTMLButtonElement;
  const form = h(
    "form",
    { class: "card settings", "aria-label": s.newCampaign },
    h("h2", {}, s.newCampaign),
    field(s.kind, kind),
    field(s.category, category),
    senderField,
    field(s.audienceProperties, properties),
    field(s.audienceUnits, units),
    field(s.subject, subject),
    field(s.message, body),
    field(s.startAt, start),
    h("div", { class: "actions" }, button),
    say.element,
  ) as HTMLFormElement;
  form.addEventListener(
    "submit",
    sending(button, say, async (key) => {
      const campaign: Schemas["CreateCampaign"] = {
        kind: kind.value as Schemas["CampaignKind"],
        category_id: category.value,
        audience: { property_ids: commaList(properties.value) },
      };
      const chosenUnits = commaList(units.value);
      if (chosenUnits.length) campaign.audience.units = chosenUnits;
      if (campaign.kind === "consent_request") campaign.sender_name = sender.value.trim();
      if (subject.value.trim()) campaign.subject = subject.value.trim();
      if (body.value.trim()) campaign.body = body.value;
      if (start.value) campaign.send_at = new Date(start.value).toISOString();
      await ctx.api.createCampaign(campaign, key);
      form.reset();
      offer();
      await created();
      return s.saved;
    }),
  );
  return form;
}
