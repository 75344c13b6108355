import type { Schemas } from "../api";
import { h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { clicked, feedback } from "./form";

/** `datetime-local`'s value for an instant, in the browser's time zone. */
function localInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Staff: the messages they scheduled and not sent yet (admins: everyone's), to move or cancel. */
export async function scheduledView(ctx: Context): Promise<void> {
  const s = t();
  const say = feedback();
  const list = h("ul", { class: "threads queue" });
  const admin = ctx.session.role === "facility_admin";
  // An admin sees (and may move or cancel) colleagues' messages: each says whose it is.
  const staffList = admin ? await ctx.api.staff().catch(() => []) : [];
  const author = (id: string) => (id === ctx.session.userId ? s.you : (staffList.find((c) => c.id === id)?.name ?? id));
  const draw = async () => {
    const items = await ctx.api.scheduled();
    if (!ctx.current()) return;
    const pending = items.filter((m) => m.status === "scheduled");
    show(list, pending.length ? pending.map(item) : h("li", { class: "empty" }, s.nothingScheduled));
  };
  const item = (m: Schemas["ScheduledRecord"]) => {
    const target = m.post.kind === "reply" ? m.post.thread_id : null;
    const label = m.post.kind === "thread" ? m.post.subject : m.body.slice(0, 60);
    const at = h("input", { type: "datetime-local", value: localInput(m.send_at), "aria-label": `${s.sendAtLabel}: ${label}` }) as HTMLInputElement;
    const act = (run: () => Promise<unknown>, done: string) =>
      clicked(say, async () => {
        await run();
        await draw();
      }, `${label}: ${done}`);
    return h(
      "li",
      { class: "scheduled" },
      h("div", { class: "grow" },
        target ? h("a", { href: `#/thread/${target}` }, label) : h("strong", {}, label),
        h("p", { class: "body" }, m.body),
        h("p", { class: "meta" },
          `${s.scheduledFor} ${when(m.send_at)}`,
          m.post.kind === "reply" && m.post.internal ? ` · ${s.internalNote}` : "",
          admin ? ` · ${s.by} ${author(m.author_id)}` : "",
        ),
      ),
      h("div", { class: "actions" },
        at,
        h("button", { type: "button", class: "secondary", "aria-label": `${s.moveTo}: ${label}`,
          onclick: act(() => move(m, at), s.saved) }, s.moveTo),
        h("button", { type: "button", class: "link", "aria-label": `${s.cancel}: ${label}`,
          onclick: act(() => ctx.api.cancelScheduled(m.id), s.scheduledCancelled) }, s.cancel),
      ),
    );
  };
  /** The new time, as chosen; a blank or unchanged field is no move. */
  const move = (m: Schemas["ScheduledRecord"], at: HTMLInputElement) => {
    const chosen = new Date(at.value);
    if (!at.value || Number.isNaN(chosen.getTime())) return Promise.reject(new Error(s.chooseTime));
    if (at.value === localInput(m.send_at)) return Promise.reject(new Error(s.sameTime));
    return ctx.api.editScheduled(m.id, { send_at: chosen.toISOString() });
  };
  show(ctx.main, h("a", { href: "#/", class: "back" }, `← ${s.back}`), h("h1", {}, s.scheduledMessages), list, say.element);
  await draw();
}
