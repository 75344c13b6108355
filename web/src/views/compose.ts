import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { feedback, filePicker, sender } from "./form";

const TOPICS = ["maintenance", "billing", "parking", "general"];

/** A resident's new conversation: topic, subject, first message and its photos. */
export async function composeView(ctx: Context): Promise<void> {
  const s = t();
  const topic = h("select", { name: "topic", required: true },
    TOPICS.map((k) => h("option", { value: k }, s.topics[k])),
  ) as HTMLSelectElement;
  const subject = h("input", { name: "subject", required: true, maxlength: 200 }) as HTMLInputElement;
  const body = h("textarea", { name: "body", required: true, rows: 6, maxlength: 5000 }) as HTMLTextAreaElement;
  const say = feedback();
  const files = filePicker(say);
  const send = h("button", { type: "submit" }, s.send) as HTMLButtonElement;
  const submit = sender(send, say, async (key) => {
    const ids = await files.upload(ctx.api);
    if (!ids) return false;
    const thread = await files.guard(ctx.api.startThread(topic.value, subject.value, body.value, ids, key));
    ctx.go(`#/thread/${thread.id}`);
    return true;
  });
  show(
    ctx.main,
    h("form", { class: "card", onsubmit: submit },
      h("h1", {}, s.newConversation),
      field(s.topic, topic),
      field(s.subject, subject),
      field(s.message, body),
      files.element,
      h("div", { class: "actions" }, send, h("a", { href: "#/" }, s.cancel)),
      say.element,
    ),
  );
}
