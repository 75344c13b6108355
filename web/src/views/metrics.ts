import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { currentLang, t, when } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";

/** Staff: response times, resolution, triage and the backlog over a period (the last 30 days unless chosen). */
export async function metricsView(ctx: Context): Promise<void> {
  const s = t();
  const say = feedback();
  const from = h("input", { type: "date", name: "from" }) as HTMLInputElement;
  const to = h("input", { type: "date", name: "to" }) as HTMLInputElement;
  const property = h("input", { name: "property_id", maxlength: 64 }) as HTMLInputElement;
  const figures = h("div");
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    figures.setAttribute("aria-busy", "true");
    try {
      const metrics = await ctx.api.metrics(from.value, to.value, property.value.trim());
      if (mine !== asked || !ctx.current()) return;
      show(figures, report(metrics));
      // Said once, briefly: the whole report is there to read.
      say.say(`${s.conversationsCount}: ${metrics.conversations} · ${s.firstResponse}: ${minutes(metrics.first_response_minutes.all.p50)}`);
    } catch (err) {
      if (mine === asked) say.fail(err);
    } finally {
      if (mine === asked) figures.removeAttribute("aria-busy");
    }
  };
  show(
    ctx.main,
    h("h1", {}, s.metrics),
    h("form", { class: "filters", "aria-label": s.period, onsubmit: (e: Event) => { e.preventDefault(); void load(); } },
      field(s.periodFrom, from),
      field(s.periodTo, to),
      field(s.property, property),
      h("div", { class: "field" }, h("button", { type: "submit" }, s.show)),
    ),
    say.element,
    figures,
  );
  await load();
}

function report(m: Schemas["Metrics"]): (HTMLElement | false)[] {
  const s = t();
  const spread = (x: Schemas["Spread"]) => [h("td", {}, String(x.count)), h("td", {}, minutes(x.p50)), h("td", {}, minutes(x.p90))];
  const spreadHead = (first: string) => h("thead", {}, h("tr", {}, [first, s.count, s.median, s.p90].map((c) => h("th", { scope: "col" }, c))));
  const topics = Object.entries(m.first_response_minutes.by_topic);
  const kinds = Object.entries(m.escalations.by_kind);
  return [
    h("p", { class: "meta" }, `${when(m.from)} – ${when(m.to)}${m.property_id ? ` · ${m.property_id}` : ""} · ${s.conversationsCount}: ${m.conversations}`),
    m.truncated && h("p", { class: "notice" }, s.truncated),
    h("div", { class: "table-wrap" },
      h("table", { class: "contacts" },
        h("caption", {}, s.responseTimes),
        spreadHead(""),
        h("tbody", {},
          h("tr", {}, h("th", { scope: "row" }, s.firstResponse), ...spread(m.first_response_minutes.all)),
          topics.map(([topic, x]) => h("tr", {}, h("th", { scope: "row" }, `· ${s.topics[topic] ?? topic}`), ...spread(x))),
          h("tr", {}, h("th", { scope: "row" }, s.resolution), ...spread(m.resolution_minutes)),
          h("tr", {}, h("th", { scope: "row" }, s.acknowledgement), ...spread(m.escalations.ack_minutes)),
        ),
      ),
    ),
    h("dl", { class: "figures" },
      h("dt", {}, s.unanswered), h("dd", {}, String(m.first_response_minutes.unanswered)),
      h("dt", {}, s.backlogNow), h("dd", {}, `${s.unread} ${m.backlog.unread} · ${s.open} ${m.backlog.open}`),
      h("dt", {}, s.oldestUnread), h("dd", {}, minutes(m.backlog.oldest_unread_minutes)),
      h("dt", {}, s.autoRouted), h("dd", {}, m.auto_routed_share == null ? "—" : `${Math.round(m.auto_routed_share * 100)} %`),
      h("dt", {}, s.escalationsCount),
      h("dd", {},
        `${m.escalations.count}${m.escalations.unacknowledged ? ` (${s.unacknowledged} ${m.escalations.unacknowledged})` : ""}`,
        kinds.length ? ` · ${kinds.map(([k, n]) => `${s.escalations[k] ?? k} ${n}`).join(", ")}` : "",
      ),
    ),
  ];
}

/** Minutes as people read them: "45 min", "3 h 05", "2.5 d". */
export function minutes(value: number | null | undefined): string {
  const s = t();
  if (value == null) return "—";
  if (value < 60) return `${Math.round(value)} min`;
  if (value < 24 * 60) {
    const whole = Math.round(value);
    return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")}`;
  }
  const days = (value / (24 * 60)).toLocaleString(currentLang() === "fr" ? "fr-CA" : "en-CA", { maximumFractionDigits: 1 });
  return `${days} ${s.daysShort}`;
}
