import type { Schemas } from "../api";
import { field, h } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { checkbox, section } from "./form";

const LANGS = ["en", "fr"] as const;
type Escalation = keyof NonNullable<Schemas["TriageSettings"]["escalations"]>;
type Detail = keyof NonNullable<Schemas["TriageSettings"]["prompts"]>;

/**
 * Facility admins: whether triage runs, who is paged on an emergency, how soon an
 * escalation goes up again, the phrases that escalate and the approved texts it posts.
 * Path phrases and routes keep what the API holds (a PUT sends everything back).
 */
export async function triageRulesPanel(ctx: Context): Promise<HTMLElement> {
  const s = t();
  const [saved, staffList] = await Promise.all([ctx.api.triageSettings(), ctx.api.staff()]);
  const [enabled, enabledRow] = checkbox(s.triageOn, saved.enabled ?? true);
  const ack = h("input", { type: "number", name: "ack_minutes", min: 1, max: 1440, step: 1, required: true, value: saved.ack_minutes ?? 15 }) as HTMLInputElement;
  // Active staff, and whoever is on call now (kept unless unselected).
  const paged = saved.on_call ?? [];
  const offered = [...new Set([...staffList.filter((c) => c.state === "active").map((c) => c.id), ...paged])];
  const nameOf = (id: string) => staffList.find((c) => c.id === id)?.name ?? id;
  const onCall = h(
    "select",
    { multiple: true, size: Math.min(5, Math.max(2, offered.length)) },
    offered.map((id) => h("option", { value: id, selected: paged.includes(id) }, nameOf(id))),
  ) as HTMLSelectElement;
  const lines = (phrases: string[] | undefined) => (phrases ?? []).join("\n");
  const escalations = Object.entries(saved.escalations ?? {}).map(([kind, phrases]) => {
    const boxes = LANGS.map((lang) => [lang, h("textarea", { rows: 3 }, lines(phrases?.[lang]))] as const);
    return { kind: kind as Escalation, boxes, element: h("div", { class: "row" }, boxes.map(([lang, box]) => field(`${s.escalations[kind] ?? kind} (${lang.toUpperCase()})`, box))) };
  });
  const texts = (label: string, value: Schemas["Texts"] | undefined) => {
    const boxes = LANGS.map((lang) => [lang, h("textarea", { rows: 2, maxlength: 500, required: true }, value?.[lang] ?? "")] as const);
    return {
      read: (): Schemas["Texts"] => ({ en: (boxes[0][1] as HTMLTextAreaElement).value, fr: (boxes[1][1] as HTMLTextAreaElement).value }),
      element: h("div", { class: "row" }, boxes.map(([lang, box]) => field(`${label} (${lang.toUpperCase()})`, box))),
    };
  };
  const notice = texts(s.safetyNotice, saved.safety_notice);
  const prompts = Object.entries(saved.prompts ?? {}).map(([detail, value]) => ({ detail: detail as Detail, ...texts(s.promptFor[detail] ?? detail, value) }));
  const phrasesOf = (box: HTMLTextAreaElement) => box.value.split("\n").map((p) => p.trim()).filter(Boolean);
  return section(
    s.triageRules,
    [
      enabledRow,
      field(s.ackMinutes, ack),
      field(s.onCall, onCall),
      h("fieldset", { class: "week" }, h("legend", {}, s.escalationPhrases), h("p", { class: "meta" }, s.phrasesHelp), escalations.map((e) => e.element)),
      h("fieldset", { class: "week" }, h("legend", {}, s.approvedTexts), notice.element, prompts.map((p) => p.element)),
    ],
    () => {
      const minutes = ack.valueAsNumber;
      if (!Number.isInteger(minutes)) throw new Error(s.wholeMinutes);
      return ctx.api.setTriageSettings({
        ...saved,
        enabled: enabled.checked,
        ack_minutes: minutes,
        on_call: [...onCall.selectedOptions].map((o) => o.value),
        escalations: Object.fromEntries(
          escalations.map((e) => [e.kind, Object.fromEntries(e.boxes.map(([lang, box]) => [lang, phrasesOf(box as HTMLTextAreaElement)]))]),
        ),
        safety_notice: notice.read(),
        prompts: Object.fromEntries(prompts.map((p) => [p.detail, p.read()])),
      });
    },
  );
}
