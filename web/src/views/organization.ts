import { CHANNELS, type Schemas } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { checkbox, commaList, section } from "./form";
import { categoriesPanel } from "./categories";
import { campaignsPanel } from "./campaigns";
import { webhooksPanel } from "./webhooks";
import { triageRulesPanel } from "./triage-rules";

type Day = keyof Schemas["Week"];
const DAYS: Day[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The organization's pages, each a tab. */
const TABS = ["", "categories", "campaigns", "triage", "webhooks"] as const;
type Tab = (typeof TABS)[number];
const PANELS: Record<Tab, (ctx: Context) => Promise<HTMLElement>> = {
  "": settingsPanel,
  categories: categoriesPanel,
  campaigns: campaignsPanel,
  triage: triageRulesPanel,
  webhooks: webhooksPanel,
};

/** Facility admins: the organization's settings, categories, campaigns, triage rules and webhooks. */
export async function organizationView(ctx: Context, tab: string | undefined): Promise<void> {
  const s = t();
  const current = TABS.find((name) => name === tab) ?? "";
  const titles: Record<Tab, string> = {
    "": s.orgSettings,
    categories: s.categories,
    campaigns: s.campaigns,
    triage: s.triageRules,
    webhooks: s.webhooks,
  };
  const nav = h(
    "nav",
    { class: "folders", "aria-label": s.organization },
    TABS.map((name) =>
      h("a", { href: name ? `#/organization/${name}` : "#/organization", "aria-current": name === current ? "page" : undefined }, titles[name]),
    ),
  );
  const panel = await PANELS[current](ctx);
  if (!ctx.current()) return;
  show(ctx.main, h("h1", {}, `${s.organization}: ${titles[current]}`), nav, panel);
}

/** The organization's messaging, business hours, routing and retention. */
async function settingsPanel(ctx: Context): Promise<HTMLElement> {
  const [messaging, hours, routing, retention, defaults, staffList] = await Promise.all([
    ctx.api.messagingSettings(),
    ctx.api.businessHours(),
    ctx.api.routing(),
    ctx.api.retention(),
    ctx.api.notificationDefaults(),
    ctx.api.staff(),
  ]);
  return h(
    "div",
    {},
    messagingForm(ctx, messaging),
    hoursForm(ctx, hours),
    routingForm(ctx, routing, staffList),
    defaultsForm(ctx, defaults),
    retentionForm(ctx, retention),
  );
}

function messagingForm(ctx: Context, saved: Schemas["MessagingSettings"]): HTMLElement {
  const s = t();
  const days = daysInput("archive_days", saved.archive_resolved_after_days ?? 30);
  const receipts = h(
    "select",
    { name: "read_receipts" },
    Object.entries(s.receipts).map(([value, text]) => h("option", { value, selected: saved.read_receipts === value }, text)),
  ) as HTMLSelectElement;
  const [canStart, canStartRow] = checkbox(s.residentsCanStart, saved.residents_can_start);
  return section(
    s.messagingSettings,
    [field(s.archiveAfter, days), field(s.readReceipts, receipts), canStartRow],
    () =>
      ctx.api.setMessagingSettings({
        archive_resolved_after_days: wholeDays(days),
        read_receipts: receipts.value as Schemas["ReadReceipts"],
        residents_can_start: canStart.checked,
      }),
  );
}

/** One opening span a day (further spans a day already has are kept as they are). */
function hoursForm(ctx: Context, saved: Schemas["BusinessHours"]): HTMLElement {
  const s = t();
  const zone = h("input", { name: "time_zone", value: saved.time_zone, required: true, maxlength: 64 }) as HTMLInputElement;
  const rows = DAYS.map((day) => {
    const spans = saved.hours[day] ?? [];
    const [open, openRow] = checkbox(s.days[day], spans.length > 0);
    const start = h("input", { type: "time", value: spans[0]?.start ?? "09:00", "aria-label": `${s.days[day]} ${s.quietFrom}` }) as HTMLInputElement;
    const end = h("input", { type: "time", value: spans[0]?.end === "24:00" ? "23:59" : (spans[0]?.end ?? "17:00"), "aria-label": `${s.days[day]} ${s.quietTo}` }) as HTMLInputElement;
    // A day open until midnight shows 23:59 (a time field has no 24:00) and stays 24:00.
    const until = () => (end.value === "23:59" && spans[0]?.end === "24:00" ? "24:00" : end.value);
    const read = (): Schemas["Span"][] => (open.checked ? [{ start: start.value, end: until() }, ...spans.slice(1)] : []);
    return { day, read, element: h("div", { class: "day" }, openRow, start, end) };
  });
  const closed = h("input", { name: "closed_dates", value: saved.closed_dates.join(", "), placeholder: "2026-12-25, 2027-01-01" }) as HTMLInputElement;
  const [autoOn, autoRow] = checkbox(s.autoReplyOn, saved.auto_reply.enabled);
  const autoBody = h("textarea", { name: "auto_reply", rows: 3, maxlength: 5000 }, saved.auto_reply.body) as HTMLTextAreaElement;
  return section(
    s.businessHours,
    [
      field(s.timeZone, zone),
      h("fieldset", { class: "week" }, h("legend", {}, s.openingHours), rows.map((r) => r.element)),
      field(s.closedDates, closed),
      autoRow,
      field(s.autoReply, autoBody),
    ],
    () =>
      ctx.api.setBusinessHours({
        time_zone: zone.value.trim(),
        hours: Object.fromEntries(rows.map((r) => [r.day, r.read()])) as Schemas["Week"],
        closed_dates: commaList(closed.value),
        auto_reply: { enabled: autoOn.checked, body: autoBody.value },
      }),
  );
}

/** Who each topic goes to: a colleague or a team. */
function routingForm(ctx: Context, saved: Schemas["RoutingSettings"], staffList: Schemas["Contact"][]): HTMLElement {
  const s = t();
  const teams = Object.entries(saved.teams ?? {});
  const valueOf = (r: Schemas["Recipient"]) => ("user_id" in r ? `user:${r.user_id}` : `team:${r.team}`);
  const choices: [string, string][] = [
    ...staffList.filter((c) => c.state === "active").map((c): [string, string] => [`user:${c.id}`, c.name]),
    ...teams.map(([id, team]): [string, string] => [`team:${id}`, `${s.team}: ${team.name}`]),
  ];
  // The current recipient is always an option (even one no longer listed), and a new
  // route starts with nobody chosen: Save never moves a topic to whoever comes first.
  const options = (current: Schemas["Recipient"] | undefined) => {
    const chosen = current && valueOf(current);
    const all = chosen && !choices.some(([v]) => v === chosen) ? [[chosen, chosen.split(":")[1]] as [string, string], ...choices] : choices;
    return [
      h("option", { value: "", disabled: true, selected: !chosen }, s.noRecipient),
      ...all.map(([value, text]) => h("option", { value, selected: value === chosen }, text)),
    ];
  };
  const rows = h("div", { class: "routes" });
  const route = (topic: string, recipient?: Schemas["Recipient"]) => {
    const name = h("input", { value: topic, required: true, maxlength: 32, "aria-label": s.topic }) as HTMLInputElement;
    const to = h("select", { required: true }, options(recipient)) as HTMLSelectElement;
    // The select is named for the topic its row routes, as typed.
    const label = () => to.setAttribute("aria-label", `${s.routeTo} ${s.topics[name.value] ?? name.value}`);
    name.addEventListener("input", label);
    label();
    rows.append(h("div", { class: "route" }, name, h("span", { "aria-hidden": "true" }, "→"), to));
  };
  for (const [topic, recipient] of Object.entries(saved.routes)) route(topic, recipient);
  const add = h("button", { type: "button", class: "secondary" }, s.addTopic);
  add.addEventListener("click", () => {
    route("");
    rows.querySelector<HTMLInputElement>(".route:last-child input")?.focus();
  });
  return section(s.routing, [h("p", { class: "meta" }, s.routingHelp), rows, add], () => {
    const routes: Record<string, Schemas["Recipient"]> = {};
    for (const row of rows.querySelectorAll(".route")) {
      const topic = row.querySelector("input")!.value.trim();
      const [kind, id] = row.querySelector("select")!.value.split(/:(.*)/s);
      if (topic) routes[topic] = kind === "team" ? { team: id } : { user_id: id };
    }
    return ctx.api.setRouting({ ...saved, routes });
  });
}

/** The channels, in order, for users who chose none of their own. */
function defaultsForm(ctx: Context, saved: Schemas["NotificationDefaults"]): HTMLElement {
  const s = t();
  const picks = CHANNELS.map((_, n) =>
    h(
      "select",
      { name: `default_channel_${n + 1}` },
      h("option", { value: "", selected: !saved.default_channels[n] }, "—"),
      CHANNELS.map((c) => h("option", { value: c, selected: saved.default_channels[n] === c }, s.channels[c])),
    ) as HTMLSelectElement,
  );
  return section(
    s.defaultChannels,
    [h("p", { class: "meta" }, s.defaultChannelsHelp), h("div", { class: "row" }, picks.map((pick, n) => field(`${s.channel} ${n + 1}`, pick)))],
    () => {
      // In the order chosen, each channel once.
      const channels = [...new Set(picks.map((p) => p.value).filter(Boolean))] as Schemas["Channel"][];
      return ctx.api.setNotificationDefaults({ default_channels: channels });
    },
  );
}

function retentionForm(ctx: Context, saved: Schemas["RetentionSettings"]): HTMLElement {
  const s = t();
  const days = daysInput("retention_days", saved.attachment_retention_days);
  return section(s.retention, [field(s.retentionDays, days)], async () =>
    ctx.api.setRetention({ attachment_retention_days: wholeDays(days) }),
  );
}

/** A count of days, 0 to 3650 (10 years), as both settings bound it. */
function daysInput(name: string, value: number): HTMLInputElement {
  return h("input", { type: "number", min: 0, max: 3650, step: 1, required: true, value, name }) as HTMLInputElement;
}

/** A number of days as typed; an empty or broken field is refused, never taken for 0. */
function wholeDays(input: HTMLInputElement): number {
  const days = input.valueAsNumber;
  if (input.value.trim() === "" || !Number.isInteger(days)) throw new Error(t().wholeDays);
  return days;
}
