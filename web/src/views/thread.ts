import type { Schemas, Thread, TimelineItem } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback, filePicker, sender, type Feedback } from "./form";
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
  let shown = "";
  let headShown = "";
  let polls = 0;
  const drawn = new Map<string, { key: string; node: HTMLElement }>();

  // The timeline is read again when the thread changed (a message, an event, a read
  // marker), and every fifth poll anyway: a message committed late, out of order, does not
  // change the thread. Only what changed is redrawn, so polling keeps the focus where it is.
  const refresh = async (force = false) => {
    polls += 1;
    const latest = await ctx.api.thread(id);
    const key = JSON.stringify(latest);
    if (!ctx.current() || (key === shown && !force && polls % 5 !== 0)) return;
    thread = latest;
    items = await ctx.api.timeline(id);
    if (!ctx.current()) return;
    shown = key;
    const head = JSON.stringify([thread.subject, thread.status, thread.topic, thread.resident]);
    if (head !== headShown) {
      headShown = head;
      renderHead();
    }
    renderPeople();
    drawTimeline();
    await markRead();
  };

  const drawTimeline = () => {
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    const ids = items.map((i) => i.id);
    const inOrder = [...drawn.keys()].every((k, n) => ids[n] === k);
    if (!inOrder) {
      drawn.clear();
      show(timeline);
    }
    for (const item of items) {
      const node = entry(ctx, item, thread);
      const key = node.outerHTML;
      const before = drawn.get(item.id);
      if (!before) timeline.append(node);
      else if (before.key !== key) before.node.replaceWith(node);
      else continue;
      drawn.set(item.id, { key, node });
    }
    if (atBottom) timeline.lastElementChild?.scrollIntoView({ block: "end" });
  };

  const markRead = async () => {
    const last = [...items].reverse().find((i) => i.type === "message");
    const mine = thread.participants.find((p) => p.user_id === ctx.session.userId);
    if (ctx.current() && last && mine && (mine.last_read_message_id ?? "") < last.id) {
      await ctx.api.markRead(id, last.id).catch(() => undefined);
    }
  };

  const renderHead = () => {
    const status = thread.status;
    const setStatus = (next: "open" | "resolved") => async () => {
      try {
        await ctx.api.setStatus(id, next);
        await refresh(true);
        // The button pressed was redrawn as its opposite: keep the focus on it.
        head.querySelector<HTMLButtonElement>(".actions button")?.focus();
      } catch (err) {
        say.fail(err);
      }
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

  const say = feedback();
  show(ctx.main, head, h("div", { class: "thread-body" }, timeline, people), composer(ctx, id, staff, say, refresh));
  await refresh(true);
  timeline.lastElementChild?.scrollIntoView({ block: "end" });
  ctx.poll(() => refresh());
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
  // The link downloads (Content-Disposition: attachment), so the page stays.
  const open = async () => {
    const meta = await ctx.api.attachment(a.id);
    if (meta.download_url) location.assign(meta.download_url);
  };
  return h("li", {}, h("button", { type: "button", class: "link", onclick: open }, a.file_name));
}

function composer(
  ctx: Context,
  id: string,
  staff: boolean,
  say: Feedback,
  refresh: (force: boolean) => Promise<void>,
): HTMLElement {
  const s = t();
  const body = h("textarea", { name: "reply", rows: 3, required: true, maxlength: 5000 }) as HTMLTextAreaElement;
  const internal = h("input", { type: "checkbox", name: "internal", id: "internal-note" }) as HTMLInputElement;
  const files = filePicker(say);
  const send = h("button", { type: "submit" }, s.send) as HTMLButtonElement;
  const submit = sender(send, say, async (key) => {
    const ids = await files.upload(ctx.api);
    if (!ids) return false;
    await ctx.api.post(id, body.value, staff && internal.checked, ids, key).catch((err: unknown) => {
      files.forget(err);
      throw err;
    });
    body.value = "";
    internal.checked = false;
    files.clear();
    // Sent: showing it is the poll's job if this read fails.
    void refresh(true).catch(() => undefined);
    return true;
  });
  return h(
    "form",
    { class: "composer", onsubmit: submit },
    field(s.reply, body),
    staff && h("div", { class: "check" }, internal, h("label", { for: "internal-note" }, s.internalNote)),
    files.element,
    h("div", { class: "actions" }, send),
    say.element,
  );
}
