import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { checkbox, clicked, feedback, sender } from "./form";

const EVENTS: Schemas["WebhookEvent"][] = [
  "thread.created",
  "thread.updated",
  "message.created",
  "participant.added",
  "participant.removed",
  "triage.escalated",
];

/**
 * Facility admins: the endpoints the PMS or CRM is told of events at, each with its
 * delivery log; a new or rotated secret is shown once.
 */
export async function webhooksPanel(ctx: Context): Promise<HTMLElement> {
  const s = t();
  const list = h("ul", { class: "webhooks" });
  const say = feedback();
  // The secret of an endpoint just made or rotated: the only time the API tells it.
  const secret = h("div", { "aria-live": "polite" });
  const act = (action: () => Promise<unknown>, confirm?: string) =>
    clicked(say, async () => {
      show(secret);
      await action();
      await draw();
    }, s.saved, confirm);
  // Shown with the endpoint it signs for, until the next action on the page.
  const showSecret = (hook: Schemas["Webhook"]) =>
    show(secret, hook.secret && h("p", { class: "notice" }, `${hook.url}: ${s.secretOnce} `, h("code", {}, hook.secret)));
  const item = (hook: Schemas["Webhook"]) => {
    const log = h("div");
    const state = hook.disabled_at
      ? `${s.webhookDisabled} ${when(hook.disabled_at)}`
      : hook.failing_since
        ? `${s.failingSince} ${when(hook.failing_since)}`
        : s.webhookActive;
    const button = (text: string, onclick: (e: Event) => void) =>
      h("button", { type: "button", class: "link", "aria-label": `${text}: ${hook.url}`, onclick }, text);
    return h(
      "li",
      { class: "card" },
      h("p", {}, h("strong", {}, hook.url)),
      h("p", { class: "meta" }, `${hook.events.join(", ")}${hook.include_internal ? ` · ${s.withInternal}` : ""} · ${state}`),
      h("div", { class: "actions" },
        button(s.deliveries, () => void showLog(ctx, hook, log, say)),
        // The previous secret keeps signing for 24 hours only: a rotation is on purpose.
        button(s.rotateSecret, clicked(say, async () => {
          show(secret);
          const rotated = await ctx.api.webhookAction(hook.id, "rotate");
          // Shown before the list is read again: a failed read must not lose it.
          await draw().catch(() => undefined);
          showSecret(rotated);
        }, s.saved, `${s.confirmRotate} ${hook.url}`)),
        hook.disabled_at && button(s.enable, act(() => ctx.api.webhookAction(hook.id, "enable"))),
        button(s.delete, act(() => ctx.api.deleteWebhook(hook.id), `${s.confirmDelete} ${hook.url}`)),
      ),
      log,
    );
  };
  const draw = async () => {
    const hooks = await ctx.api.webhooks();
    show(list, hooks.length ? hooks.map(item) : h("li", { class: "empty" }, s.noWebhooks));
  };
  await draw();
  return h("div", {}, secret, list, say.element, webhookForm(ctx, async (hook) => {
    // Shown first: a failed reading of the list must not lose it.
    showSecret(hook);
    await draw().catch((err: unknown) => say.fail(err));
  }));
}

/** The endpoint's latest deliveries; a failed one can be sent again. */
async function showLog(ctx: Context, hook: Schemas["Webhook"], slot: HTMLElement, say: ReturnType<typeof feedback>): Promise<void> {
  const s = t();
  try {
    const page = await ctx.api.deliveries(hook.id);
    const row = (d: Schemas["WebhookDelivery"]) => {
      const last = d.attempts[d.attempts.length - 1];
      const answer = last ? (last.status ? `HTTP ${last.status}` : (last.error ?? "")) : "";
      return h(
        "tr",
        {},
        h("td", {}, h("time", { datetime: d.created_at }, when(d.created_at))),
        h("td", {}, d.type),
        h("td", {}, s.deliveryStates[d.state] ?? d.state),
        h("td", {}, `${d.attempt_count}${answer ? ` · ${answer}` : ""}`),
        h("td", {}, d.state === "failed" &&
          h("button", {
            type: "button",
            class: "link",
            "aria-label": `${s.redeliver}: ${d.type} ${when(d.created_at)}`,
            onclick: async () => {
              try {
                await ctx.api.redeliver(hook.id, d.id);
                await showLog(ctx, hook, slot, say);
                say.say(s.saved);
              } catch (err) {
                say.fail(err);
              }
            },
          }, s.redeliver)),
      );
    };
    show(
      slot,
      page.items.length
        ? h("div", { class: "table-wrap" },
            h("table", { class: "contacts" },
              h("caption", {}, `${s.deliveries}: ${hook.url}`),
              h("thead", {}, h("tr", {}, [s.when, s.event, s.status, s.attempts, ""].map((c) => h("th", { scope: "col" }, c)))),
              h("tbody", {}, page.items.map(row)),
            ),
          )
        : h("p", { class: "empty" }, s.noDeliveries),
    );
  } catch (err) {
    say.fail(err);
  }
}

function webhookForm(ctx: Context, created: (hook: Schemas["Webhook"]) => Promise<void>): HTMLElement {
  const s = t();
  const say = feedback();
  const url = h("input", { type: "url", name: "url", required: true, maxlength: 2048, placeholder: "https://pms.example.com/hooks/messaging" }) as HTMLInputElement;
  const events = EVENTS.map((event) => checkbox(event, true));
  const [internal, internalRow] = checkbox(s.withInternal, false);
  const button = h("button", { type: "submit" }, s.create) as HTMLButtonElement;
  const submit = sender(button, say, async () => {
    const chosen = EVENTS.filter((_, n) => events[n][0].checked);
    const hook = await ctx.api.createWebhook({ url: url.value.trim(), events: chosen, include_internal: internal.checked });
    url.value = "";
    await created(hook);
    return true;
  });
  return h(
    "form",
    { class: "card settings", onsubmit: submit, "aria-labelledby": "new-webhook-h" },
    h("h2", { id: "new-webhook-h" }, s.newWebhook),
    field(s.webhookUrl, url),
    h("fieldset", { class: "week" }, h("legend", {}, s.eventTypes), events.map(([, row]) => row)),
    internalRow,
    h("div", { class: "actions" }, button),
    say.element,
  );
}
