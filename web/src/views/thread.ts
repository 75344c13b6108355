import { ApiError, type Schemas, type Thread, type TimelineItem } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { checkbox, feedback, filePicker, sender, type Feedback } from "./form";
import { isStaff } from "./inbox";

/** One conversation: its messages and events, who is in it, and the reply form. */
export async function threadView(ctx: Context, id: string): Promise<void> {
  const s = t();
  const staff = isStaff(ctx);
  const head = h("div", { class: "thread-head" });
  const people = h("section", { class: "people", "aria-labelledby": "people-h" });
  const record = h("section", { class: "record", "aria-labelledby": "record-h" });
  const triage = h("section", { class: "triage-panel", "aria-labelledby": "triage-h" });
  const timeline = h("ol", { class: "timeline", "aria-label": s.messages });
  const [loaded, templates, staffList] = await Promise.all([
    ctx.api.thread(id),
    staff ? ctx.api.templates().catch(() => []) : [],
    staff ? ctx.api.staff().catch(() => []) : [],
  ]);
  let thread: Thread = loaded;
  let items: TimelineItem[] = [];
  let shown = "";
  let headShown = "";
  let sideShown = "";
  let polls = 0;
  const drawn = new Map<string, { key: string; node: HTMLElement }>();

  // The timeline is read again when the thread changed (a message, an event, a read
  // marker), and every fifth poll anyway: a message committed late, out of order, does not
  // change the thread. Only what changed is redrawn, so polling keeps the focus where it is.
  // A refresh applies what it read only if none started after it (a poll overlapping an
  // action must not draw the thread as it was before the action).
  let asked = 0;
  const refresh = async (force = false) => {
    polls += 1;
    const mine = ++asked;
    const latest = await ctx.api.thread(id);
    const key = JSON.stringify(latest);
    if (!ctx.current() || mine !== asked || (key === shown && !force && polls % 5 !== 0)) return;
    const timelineNow = await ctx.api.timeline(id);
    if (!ctx.current() || mine !== asked) return;
    thread = latest;
    items = timelineNow;
    shown = key;
    // Each part is redrawn only when what it shows changed (a half-chosen select stays).
    const head = JSON.stringify([thread.subject, thread.status, thread.topic, thread.resident, thread.priority]);
    if (head !== headShown) {
      headShown = head;
      renderHead();
    }
    const side = JSON.stringify([thread.participants.map((p) => [p.user_id, p.name]), thread.linked_record, thread.triage]);
    if (side !== sideShown) {
      sideShown = side;
      renderPeople();
      renderRecord();
      renderTriage();
    }
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
      const node = entry(ctx, item, thread, staffList);
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

  /** Does a staff action, shows the thread as it is after it, and says how it went (at the top). */
  const acted = feedback();
  const act = async (action: () => Promise<unknown>, then?: () => void) => {
    acted.say("");
    try {
      await action();
      await refresh(true);
      then?.();
      acted.say(s.saved);
    } catch (err) {
      acted.fail(err);
    }
  };

  // Made once: a redrawn head keeps the choice.
  const [withNotes, withNotesRow] = checkbox(s.withInternalNotes, false);
  const transcript = h("button", { type: "button", class: "secondary" }, s.transcript) as HTMLButtonElement;
  transcript.addEventListener("click", async () => {
    transcript.disabled = true;
    try {
      const pdf = await ctx.api.transcript(id, withNotes.checked);
      const url = URL.createObjectURL(pdf);
      h("a", { href: url, download: `conversation-${id}${withNotes.checked ? "-internal" : ""}.pdf` }).click();
      window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      acted.fail(err);
    } finally {
      transcript.disabled = false;
    }
  });

  const renderHead = () => {
    const status = thread.status;
    // The button pressed was redrawn as its opposite: keep the focus on it.
    const setStatus = (next: "open" | "resolved") => () =>
      act(() => ctx.api.update(id, { status: next }), () => head.querySelector<HTMLButtonElement>(".actions button")?.focus());
    const priority = h(
      "select",
      {
        name: "priority",
        onchange: (e: Event) => {
          const value = (e.target as HTMLSelectElement).value as Schemas["Priority"];
          void act(() => ctx.api.update(id, { priority: value }), () => head.querySelector<HTMLSelectElement>("select")?.focus());
        },
      },
      Object.entries(s.priorities).map(([value, text]) => h("option", { value, selected: thread.priority === value }, text)),
    );
    show(
      head,
      h("a", { href: "#/", class: "back" }, `← ${s.back}`),
      h("h1", {}, thread.subject),
      h("p", { class: "meta" },
        `${s.topics[thread.topic] ?? thread.topic} · ${s.status}: ${s.statuses[status] ?? status}`,
        staff && ` · ${s.resident}: ${thread.resident.name}${thread.resident.unit ? `, ${s.unit} ${thread.resident.unit}` : ""}`,
      ),
      !staff && thread.priority === "urgent" && h("p", { class: "badge urgent" }, s.priorities.urgent),
      staff &&
        h("div", { class: "actions" },
          status === "resolved" || status === "archived"
            ? h("button", { type: "button", onclick: setStatus("open") }, s.reopen)
            : h("button", { type: "button", onclick: setStatus("resolved") }, s.resolve),
          field(s.priority, priority),
          transcript,
          withNotesRow,
        ),
      staff && acted.element,
      !staff && status === "resolved" && h("p", { class: "notice" }, s.resolvedNotice),
      !staff && status === "archived" && h("p", { class: "notice" }, s.archivedNotice),
    );
  };

  const renderPeople = () => {
    const me = ctx.session.userId;
    const admin = ctx.session.role === "facility_admin";
    const residentId = thread.resident.id;
    // Staff leave; admins also remove anyone but the resident.
    const removal = (p: Schemas["Participant"]) => {
      if (!staff || p.user_id === residentId || (p.user_id !== me && !admin)) return null;
      const leaving = p.user_id === me;
      const remove = async () => {
        if (!(leaving && !admin)) {
          await act(() => ctx.api.removeParticipant(id, p.user_id), () => people.querySelector<HTMLElement>("h2")?.focus());
          return;
        }
        // Staff who left may no longer see the conversation: back to the inbox.
        try {
          await ctx.api.removeParticipant(id, me);
          ctx.go("#/");
        } catch (err) {
          acted.fail(err);
        }
      };
      return h(
        "button",
        { type: "button", class: "link", onclick: remove, "aria-label": leaving ? s.leave : `${s.remove} ${p.name}` },
        leaving ? s.leave : s.remove,
      );
    };
    const inIt = new Set(thread.participants.map((p) => p.user_id));
    const addable = staffList.filter((c) => !inIt.has(c.id) && c.state === "active");
    const pick = h("select", { name: "participant" }, addable.map((c) => h("option", { value: c.id }, c.name))) as HTMLSelectElement;
    const add = (e: Event) => {
      e.preventDefault();
      if (pick.value) void act(() => ctx.api.addParticipant(id, pick.value), () => people.querySelector<HTMLElement>("select, h2")?.focus());
    };
    show(
      people,
      h("h2", { id: "people-h", tabindex: -1 }, s.participants),
      h("ul", {}, thread.participants.map((p) =>
        h("li", {}, p.name, p.user_id === me ? ` (${s.you})` : "", " ", removal(p)),
      )),
      staff && addable.length > 0 &&
        h("form", { class: "inline", onsubmit: add }, field(s.addParticipant, pick), h("button", { type: "submit" }, s.add)),
    );
  };

  const renderRecord = () => {
    const linked = thread.linked_record;
    if (!linked && !staff) {
      show(record);
      return;
    }
    const kinds = s.recordKinds;
    const shownRecord = linked && h("p", {},
      `${kinds[linked.kind] ?? linked.kind} ${linked.id}${linked.label ? ` · ${linked.label}` : ""} `,
      staff &&
        h("button", {
          type: "button",
          class: "link",
          onclick: () => act(() => ctx.api.update(id, { linked_record: null }), focusRecord),
        }, s.unlink),
    );
    let form: HTMLElement | null = null;
    if (staff) {
      const kind = h("select", { name: "kind" }, Object.entries(kinds).map(([k, text]) => h("option", { value: k }, text))) as HTMLSelectElement;
      const recordId = h("input", { name: "record_id", required: true, maxlength: 128 }) as HTMLInputElement;
      const label = h("input", { name: "record_label", maxlength: 200 }) as HTMLInputElement;
      const link = (e: Event) => {
        e.preventDefault();
        const next: Schemas["LinkedRecord"] = { kind: kind.value, id: recordId.value.trim() };
        if (label.value.trim()) next.label = label.value.trim();
        void act(() => ctx.api.update(id, { linked_record: next }), focusRecord);
      };
      form = h("form", { class: "link-record", onsubmit: link },
        field(s.recordKind, kind),
        field(s.recordId, recordId),
        field(s.recordLabel, label),
        h("button", { type: "submit" }, s.link),
      );
    }
    show(record, h("h2", { id: "record-h", tabindex: -1 }, s.linkedRecord), shownRecord, form);
  };
  const focusRecord = () => record.querySelector<HTMLElement>("h2")?.focus();

  const say = feedback();
  /** Staff: what triage made of the resident's message; acknowledge an escalation, correct the path. */
  const renderTriage = () => {
    const found = thread.triage;
    if (!staff || !found) {
      show(triage);
      triage.hidden = true;
      return;
    }
    triage.hidden = false;
    const waiting = found.escalation && !found.acknowledged_at;
    const path = h("select", { name: "path" },
      Object.entries(s.paths).map(([value, text]) => h("option", { value, selected: found.path === value }, text)),
    ) as HTMLSelectElement;
    const correct = (e: Event) => {
      e.preventDefault();
      void act(() => ctx.api.correctTriage(id, path.value as Schemas["Path"]));
    };
    show(
      triage,
      h("h2", { id: "triage-h", tabindex: -1 }, s.triage),
      h("p", {},
        `${s.path}: ${s.paths[found.path] ?? found.path}`,
        found.escalation && ` · ${s.escalations[found.escalation] ?? found.escalation}${(found.level ?? 0) > 1 ? ` (${s.level} ${found.level})` : ""}`,
        found.acknowledged_at && ` · ${s.acknowledged} ${s.by} ${nameOf(found.acknowledged_by ?? "")}`,
      ),
      waiting &&
        h("button", {
          type: "button",
          onclick: () => act(() => ctx.api.acknowledge(id), () => triage.querySelector<HTMLElement>("h2")?.focus()),
        }, s.acknowledge),
      h("form", { class: "inline", onsubmit: correct }, field(s.correctPath, path), h("button", { type: "submit" }, s.correct)),
    );
  };
  const nameOf = (userId: string) => namer(thread, staffList)(userId);

  const lastMessage = () => [...items].reverse().find((i) => i.type === "message")?.id;
  show(
    ctx.main,
    head,
    h("div", { class: "thread-body" }, timeline, h("aside", {}, triage, people, record)),
    composer(ctx, id, { staff, templates, lastMessage }, say, refresh),
  );
  await refresh(true);
  timeline.lastElementChild?.scrollIntoView({ block: "end" });
  ctx.poll(() => refresh());
}

function entry(ctx: Context, item: TimelineItem, thread: Thread, staffList: Schemas["Contact"][]): HTMLElement {
  const s = t();
  if (item.type === "event") {
    return h("li", { class: "event" }, eventText(item, thread, staffList), " · ", h("time", { datetime: item.at }, when(item.at)));
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

/** "Max Maintenance changed the status to Resolved", "Billie Books joined", … */
/** A user's name: a participant's, or (someone who left) the staff directory's. */
function namer(thread: Thread, staffList: Schemas["Contact"][]): (id: string) => string {
  return (id) => thread.participants.find((p) => p.user_id === id)?.name ?? staffList.find((c) => c.id === id)?.name ?? id;
}

function eventText(item: Extract<TimelineItem, { type: "event" }>, thread: Thread, staffList: Schemas["Contact"][]): string {
  const nameOf = namer(thread, staffList);
  const s = t();
  if (item.event === "participant_joined" || item.event === "participant_left") {
    return `${nameOf(item.subject_id ?? item.actor_id)} ${s.events[item.event]}`;
  }
  const who = nameOf(item.actor_id);
  if (item.event === "linked_record_changed") {
    const linked = item.linked_record;
    return linked ? `${who} ${s.events.linked_record_changed} ${s.recordKinds[linked.kind] ?? linked.kind} ${linked.id}` : `${who} ${s.unlinkedRecord}`;
  }
  const value = item.status
    ? (s.statuses[item.status] ?? item.status)
    : item.priority
      ? (s.priorities[item.priority] ?? item.priority)
      : "";
  return `${who} ${s.events[item.event] ?? item.event} ${value}`.trim();
}

function attachment(ctx: Context, a: Schemas["AttachmentRef"]): HTMLElement {
  // The link downloads (Content-Disposition: attachment), so the page stays.
  const open = async () => {
    const meta = await ctx.api.attachment(a.id);
    if (meta.download_url) location.assign(meta.download_url);
  };
  return h("li", {}, h("button", { type: "button", class: "link", onclick: open }, a.file_name));
}

/** What the reply form offers: staff also get saved replies, scheduling and collision checks. */
interface ComposerOptions {
  staff: boolean;
  templates: Schemas["Template"][];
  /** The newest message shown: a staff reply is refused if the thread moved on past it. */
  lastMessage: () => string | undefined;
}

function composer(
  ctx: Context,
  id: string,
  options: ComposerOptions,
  say: Feedback,
  refresh: (force: boolean) => Promise<void>,
): HTMLElement {
  const s = t();
  const { staff } = options;
  const body = h("textarea", { name: "reply", rows: 3, required: true, maxlength: 5000 }) as HTMLTextAreaElement;
  const internal = h("input", { type: "checkbox", name: "internal", id: "internal-note" }) as HTMLInputElement;
  const template = h(
    "select",
    {
      name: "template",
      // A saved reply is rendered by the server: nothing to write then.
      onchange: () => {
        body.disabled = !!template.value;
        body.required = !template.value;
      },
    },
    h("option", { value: "" }, s.noTemplate),
    options.templates.map((tpl) => h("option", { value: tpl.id }, tpl.name)),
  ) as HTMLSelectElement;
  const files = filePicker(say);
  // A scheduled message carries no attachments (the API refuses them): the picker rests.
  const sendAt = h("input", {
    type: "datetime-local",
    name: "send_at",
    oninput: () => {
      const picker = files.element.querySelector<HTMLInputElement>("input[type=file]");
      if (picker) picker.disabled = !!sendAt.value;
    },
  }) as HTMLInputElement;
  const send = h("button", { type: "submit" }, s.send) as HTMLButtonElement;
  const submit = sender(send, say, async (key) => {
    const ids = await files.upload(ctx.api);
    if (!ids) return false;
    const later = staff && sendAt.value ? new Date(sendAt.value).toISOString() : undefined;
    const posting = ctx.api.post(
      id,
      body.value,
      {
        internal: staff && internal.checked,
        attachmentIds: ids,
        templateId: (staff && template.value) || undefined,
        sendAt: later,
        expectedLastMessageId: staff && !later ? options.lastMessage() : undefined,
      },
      key,
    );
    const answer = await files.guard(posting).catch(async (err: unknown) => {
      if (err instanceof ApiError && err.code === "thread_moved_on") {
        await refresh(true).catch(() => undefined);
        throw new ApiError(err.status, err.code, s.movedOn);
      }
      throw err;
    });
    body.value = "";
    body.disabled = false;
    body.required = true;
    internal.checked = false;
    template.value = "";
    sendAt.value = "";
    files.clear();
    // Sent: showing it is the poll's job if this read fails.
    void refresh(true).catch(() => undefined);
    return "send_at" in answer && answer.status === "scheduled" ? `${s.scheduledFor} ${when(answer.send_at)}` : true;
  });
  return h(
    "form",
    { class: "composer", onsubmit: submit },
    field(s.reply, body),
    staff && options.templates.length > 0 && field(s.template, template),
    staff && h("div", { class: "check" }, internal, h("label", { for: "internal-note" }, s.internalNote)),
    files.element,
    staff && field(s.sendAt, sendAt),
    h("div", { class: "actions" }, send),
    say.element,
  );
}
