import { ApiError, type Schemas, type Thread, type TimelineItem } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { filePicker } from "./files";
import { isStaff } from "./inbox";

/** One conversation: its messages and events, who is in it, and the reply form. */
export async function threadView(ctx: Context, id: string): Promise<void> {
  const s = t();
  const staff = isStaff(ctx);
  const head = h("div", { class: "thread-head" });
  const people = h("section", { class: "people", "aria-labelledby": "people-h" });
  const timeline = h("ol", { class: "timeline", "aria-label": s.messages });
  let thread: Thread = await ctx.api.thread(id);
  let items: TimelineItem[] = [];

  const refresh = async () => {
    [thread, items] = await Promise.all([ctx.api.thread(id), ctx.api.timeline(id)]);
    renderHead();
    renderPeople();
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    show(timeline, items.map((item) => entry(ctx, item, thread)));
    if (atBottom) timeline.lastElementChild?.scrollIntoView({ block: "end" });
    await markRead();
  };

  const markRead = async () => {
    const last = [...items].reverse().find((i) => i.type === "message");
    const mine = thread.participants.find((p) => p.user_id === ctx.session.userId);
    if (last && mine && (mine.last_read_message_id ?? "") < last.id) {
      await ctx.api.markRead(id, last.id).catch(() => undefined);
    }
  };

  const renderHead = () => {
    const status = thread.status;
    const setStatus = (next: "open" | "resolved") => async () => {
      thread = await ctx.api.setStatus(id, next);
      await refresh();
    };
    show(
      head,
      h("a", { href: "#/", class: "back" }, `← ${s.back}`),
      h("h1", {}, thread.subject),
      h("p", { class: "meta" },
        `${s.topics[thread.topic] ?? thread.topic} · ${s.status}: ${s.statuses[status] ?? status}`,
        staff && ` · ${s.resident}: ${thread.resident.name}${thread.resident.unit ? `, ${s.unit} ${thread.resident.unit}` : ""}`,
      ),
      staff &&
        h("div", { class: "actions" },
          status === "resolved" || status === "archived"
            ? h("button", { type: "button", onclick: setStatus("open") }, s.reopen)
            : h("button", { type: "button", onclick: setStatus("resolved") }, s.resolve),
        ),
      !staff && status === "resolved" && h("p", { class: "notice" }, s.resolvedNotice),
      !staff && status === "archived" && h("p", { class: "notice" }, s.archivedNotice),
    );
  };

  const renderPeople = () => {
    show(
      people,
      h("h2", { id: "people-h" }, s.participants),
      h("ul", {}, thread.participants.map((p) => h("li", {}, p.name, p.user_id === ctx.session.userId ? ` (${s.you})` : ""))),
    );
  };

  show(ctx.main, head, h("div", { class: "thread-body" }, timeline, people), composer(ctx, id, staff, refresh));
  await refresh();
  timeline.lastElementChild?.scrollIntoView({ block: "end" });
  ctx.poll(refresh);
}

function entry(ctx: Context, item: TimelineItem, thread: Thread): HTMLElement {
  const s = t();
  if (item.type === "event") {
    const what = s.events[item.event] ?? item.event;
    const moved = item.event === "participant_joined" || item.event === "participant_left";
    const text = moved
      ? `${nameOf(thread, item.subject_id ?? item.actor_id)} ${what}`
      : `${nameOf(thread, item.actor_id)} ${what} ${item.status ? (s.statuses[item.status] ?? item.status) : (item.priority ?? item.linked_record?.id ?? "")}`;
    return h("li", { class: "event" }, text.trim(), " · ", h("time", { datetime: item.at }, when(item.at)));
  }
  const mine = item.author_id === ctx.session.userId;
  const readers = thread.participants
    .filter((p) => p.user_id !== item.author_id && (p.last_read_message_id ?? "") >= item.id)
    .map((p) => p.name);
  const classes = ["message", item.internal ? "note" : "", mine ? "mine" : ""].filter(Boolean).join(" ");
  return h(
    "li",
    { class: classes },
    h("article", { "aria-label": item.internal ? `${s.internalNote}: ${item.author_name}` : item.author_name },
      h("header", {},
        h("strong", {}, item.author_name),
        item.internal && h("span", { class: "badge" }, s.noteLabel),
        item.automated && h("span", { class: "badge" }, s.automated),
        h("time", { datetime: item.created_at }, when(item.created_at)),
      ),
      h("p", { class: "body" }, item.body),
      item.attachments.length > 0 && h("ul", { class: "files" }, item.attachments.map((a) => attachment(ctx, a))),
      readers.length > 0 && h("p", { class: "read" }, `${s.readBy} ${readers.join(", ")}`),
    ),
  );
}

function nameOf(thread: Thread, id: string): string {
  return thread.participants.find((p) => p.user_id === id)?.name ?? id;
}

function attachment(ctx: Context, a: Schemas["AttachmentRef"]): HTMLElement {
  const open = async () => {
    const meta = await ctx.api.attachment(a.id);
    if (meta.download_url) window.open(meta.download_url, "_blank", "noopener");
  };
  return h("li", {}, h("button", { type: "button", class: "link", onclick: open }, a.file_name));
}

function composer(ctx: Context, id: string, staff: boolean, refresh: () => Promise<void>): HTMLElement {
  const s = t();
  const body = h("textarea", { name: "reply", rows: 3, required: true, maxlength: 5000 }) as HTMLTextAreaElement;
  const internal = h("input", { type: "checkbox", name: "internal", id: "internal-note" }) as HTMLInputElement;
  const status = h("p", { role: "status" });
  const files = filePicker(status);
  const send = h("button", { type: "submit" }, s.send) as HTMLButtonElement;
  return h(
    "form",
    {
      class: "composer",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = files.chosen();
        if (!chosen) return;
        send.disabled = true;
        status.textContent = s.sending;
        try {
          const ids = await Promise.all(chosen.map((f) => ctx.api.upload(f)));
          await ctx.api.post(id, body.value, staff && internal.checked, ids);
          body.value = "";
          internal.checked = false;
          files.clear();
          status.textContent = "";
          await refresh();
        } catch (err) {
          status.textContent = `${s.failed}: ${err instanceof ApiError ? err.message : String(err)}`;
        } finally {
          send.disabled = false;
        }
      },
    },
    field(s.reply, body),
    staff && h("div", { class: "check" }, internal, h("label", { for: "internal-note" }, s.internalNote)),
    files.element,
    h("div", { class: "actions" }, send),
    status,
  );
}
