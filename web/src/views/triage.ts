import type { Schemas } from "../api";
import { h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";

/** Staff: escalated conversations nobody acknowledged yet, emergencies first, then oldest. */
export async function triageView(ctx: Context): Promise<void> {
  const s = t();
  const list = h("ul", { class: "threads queue" });
  const say = feedback();
  show(ctx.main, h("h1", { tabindex: -1 }, s.triageQueue), h("p", { class: "meta" }, s.triageHelp), list, say.element);
  let shown = "";
  const load = async () => {
    // One page: the queue is what is waiting now, and should stay short.
    const page = await ctx.api.triageQueue();
    if (!ctx.current()) return;
    const now = JSON.stringify(page.items);
    if (now === shown) return;
    shown = now;
    show(list, page.items.length ? page.items.map((item) => row(ctx, item, load, say)) : h("li", { class: "empty" }, s.queueEmpty));
  };
  await load();
  ctx.poll(load);
}

function row(ctx: Context, item: Schemas["TriageQueueItem"], reload: () => Promise<void>, say: ReturnType<typeof feedback>): HTMLElement {
  const s = t();
  const acknowledge = h("button", { type: "button", "aria-label": `${s.acknowledge}: ${item.subject}` }, s.acknowledge) as HTMLButtonElement;
  acknowledge.addEventListener("click", async () => {
    acknowledge.disabled = true;
    try {
      await ctx.api.acknowledge(item.thread_id);
      say.say(`${s.acknowledged}: ${item.subject}`);
      await reload();
      // The row is gone: the keyboard goes on from the heading.
      ctx.main.querySelector<HTMLElement>("h1")?.focus();
    } catch (err) {
      say.fail(err);
      acknowledge.disabled = false;
    }
  });
  return h(
    "li",
    { class: `thread escalation-${item.escalation}` },
    h(
      "a",
      { href: `#/thread/${item.thread_id}` },
      h("span", { class: "subject" },
        item.subject,
        h("span", { class: `badge ${item.escalation === "emergency" ? "urgent" : ""}` }, s.escalations[item.escalation] ?? item.escalation),
      ),
      h("span", { class: "meta" },
        `${item.resident_name}${item.unit ? ` · ${s.unit} ${item.unit}` : ""} · ${s.paths[item.path] ?? item.path}`,
        item.level > 1 ? ` · ${s.level} ${item.level}` : "",
        item.due_at ? ` · ${s.escalatesAgain} ${when(item.due_at)}` : "",
      ),
      h("time", { datetime: item.escalated_at }, when(item.escalated_at)),
    ),
    acknowledge,
  );
}
