import { ApiError } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { filePicker } from "./files";

const TOPICS = ["maintenance", "billing", "parking", "general"];

/** A resident's new conversation: topic, subject, first message and its photos. */
export async function composeView(ctx: Context): Promise<void> {
  const s = t();
  const topic = h("select", { name: "topic", required: true },
    TOPICS.map((k) => h("option", { value: k }, s.topics[k])),
  ) as HTMLSelectElement;
  const subject = h("input", { name: "subject", required: true, maxlength: 200 }) as HTMLInputElement;
  const body = h("textarea", { name: "body", required: true, rows: 6, maxlength: 5000 }) as HTMLTextAreaElement;
  const status = h("p", { role: "status" });
  const files = filePicker(status);
  const send = h("button", { type: "submit" }, s.send) as HTMLButtonElement;
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = files.chosen();
        if (!chosen) return;
        send.disabled = true;
        status.textContent = s.sending;
        try {
          const ids = await Promise.all(chosen.map((f) => ctx.api.upload(f)));
          const thread = await ctx.api.startThread(topic.value, subject.value, body.value, ids);
          ctx.go(`#/thread/${thread.id}`);
        } catch (err) {
          status.textContent = `${s.failed}: ${err instanceof ApiError ? err.message : String(err)}`;
          send.disabled = false;
        }
      },
    },
    h("h1", {}, s.newConversation),
    field(s.topic, topic),
    field(s.subject, subject),
    field(s.message, body),
    files.element,
    h("div", { class: "actions" }, send, h("a", { href: "#/" }, s.cancel)),
    status,
  );
  show(ctx.main, form);
  subject.focus();
}
