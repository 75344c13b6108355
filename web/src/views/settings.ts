import { CHANNELS, type Schemas } from "../api";
import { field, h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { checkbox, feedback, section } from "./form";
import { isStaff } from "./inbox";
import { templatesSection } from "./templates";

const MAX_CHANNELS = 5;

/** The caller's own settings: how they are notified, their consents (residents), their signature (staff). */
export async function settingsView(ctx: Context): Promise<void> {
  const s = t();
  const staff = isStaff(ctx);
  const [preferences, consents, signature, templates] = await Promise.all([
    ctx.api.preferences(),
    staff ? null : ctx.api.consents(),
    staff ? ctx.api.signature() : null,
    staff ? templatesSection(ctx) : null,
  ]);
  if (!ctx.current()) return;
  show(
    ctx.main,
    h("a", { href: "#/", class: "back" }, `← ${s.back}`),
    h("h1", {}, s.settings),
    notifications(ctx, preferences),
    consents && consentList(ctx, consents),
    signature && signatureForm(ctx, signature),
    templates,
  );
}

/** Channels in the order they are tried, and quiet hours. */
function notifications(ctx: Context, saved: Schemas["NotificationPreferences"]): HTMLElement {
  const s = t();
  const rows = h("ol", { class: "channels" });
  const addButton = h("button", { type: "button", class: "secondary" }, s.addChannel) as HTMLButtonElement;
  // After each change: no more than five, the first cannot move up, each button names its channel.
  const renumber = () => {
    addButton.hidden = rows.childElementCount >= MAX_CHANNELS;
    [...rows.children].forEach((item, n) => {
      const named = s.channels[item.querySelector("select")!.value];
      const [up, remove] = item.querySelectorAll<HTMLButtonElement>("button");
      up.disabled = n === 0;
      up.setAttribute("aria-label", `${s.moveUp}: ${named}`);
      remove.setAttribute("aria-label", `${s.remove}: ${named}`);
    });
  };
  const row = (value?: Schemas["ChannelAddress"]) => {
    // A new row offers the first channel not listed yet (each may appear once).
    const used = new Set([...rows.querySelectorAll("select")].map((sel) => sel.value));
    const chosen = value?.channel ?? CHANNELS.find((c) => !used.has(c));
    const channel = h(
      "select",
      { name: "channel", onchange: () => renumber() },
      CHANNELS.map((c) => h("option", { value: c, selected: chosen === c }, s.channels[c])),
    );
    const address = h("input", { name: "address", value: value?.address ?? "", required: true, maxlength: 254 });
    const item = h("li", { class: "channel" });
    const up = h("button", { type: "button", class: "link" }, "↑") as HTMLButtonElement;
    up.addEventListener("click", () => {
      item.previousElementSibling?.before(item);
      renumber();
      (up.disabled ? item.querySelector("select") : up)?.focus();
    });
    const remove = h("button", { type: "button", class: "link" }, s.remove);
    remove.addEventListener("click", () => {
      item.remove();
      renumber();
      addButton.focus();
    });
    show(item, field(s.channel, channel), field(s.address, address), up, remove);
    return item;
  };
  for (const channel of saved.channels) rows.append(row(channel));
  renumber();
  addButton.addEventListener("click", () => {
    const added = row();
    rows.append(added);
    renumber();
    added.querySelector("select")?.focus();
  });
  renumber();

  const quiet = saved.quiet_hours;
  const [quietOn, quietRow] = checkbox(s.quietHours, !!quiet);
  const start = h("input", { type: "time", name: "quiet_start", value: quiet?.start ?? "22:00" }) as HTMLInputElement;
  const end = h("input", { type: "time", name: "quiet_end", value: quiet?.end ?? "07:00" }) as HTMLInputElement;
  const zone = h("input", {
    name: "time_zone",
    value: quiet?.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    maxlength: 64,
  }) as HTMLInputElement;
  return section(
    s.notifications,
    [
      h("p", { class: "meta" }, s.channelsHelp),
      rows,
      addButton,
      quietRow,
      h("div", { class: "row" }, field(s.quietFrom, start), field(s.quietTo, end), field(s.timeZone, zone)),
    ],
    () => {
      const channels = [...rows.querySelectorAll("li")].map((li) => ({
        channel: li.querySelector("select")!.value as Schemas["Channel"],
        address: li.querySelector("input")!.value.trim(),
      }));
      const next: Schemas["NotificationPreferences"] = { channels };
      if (quietOn.checked) next.quiet_hours = { start: start.value, end: end.value, time_zone: zone.value.trim() };
      return ctx.api.setPreferences(next);
    },
  );
}

/** Each category that needs consent, as a switch that takes effect at once. */
function consentList(ctx: Context, list: Schemas["ConsentList"]): HTMLElement {
  const s = t();
  const say = feedback();
  const item = (c: Schemas["ConsentView"]) => {
    const id = `consent-${c.category_id}`;
    const box = h("input", { type: "checkbox", id, checked: c.subscribed }) as HTMLInputElement;
    const decided = h("span", { class: "meta" }, c.updated_at ? ` · ${s.decided} ${when(c.updated_at)}` : ` · ${s.byDefault}`);
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        const now = await ctx.api.setConsent(c.category_id, box.checked);
        box.checked = now.subscribed;
        decided.textContent = now.updated_at ? ` · ${s.decided} ${when(now.updated_at)}` : "";
        say.say(s.saved);
      } catch (err) {
        box.checked = !box.checked;
        say.fail(err);
      } finally {
        box.disabled = false;
      }
    });
    return h("li", { class: "check" }, box, h("label", { for: id }, `${s.receive} ${c.name}`), decided);
  };
  return h(
    "section",
    { class: "card settings", "aria-labelledby": "consents-h" },
    h("h2", { id: "consents-h" }, s.consents),
    h("p", { class: "meta" }, s.consentsHelp),
    list.items.length ? h("ul", { class: "consents" }, list.items.map(item)) : h("p", { class: "empty" }, s.noConsents),
    say.element,
  );
}

/** Staff: the signature added to what they post to residents. */
function signatureForm(ctx: Context, saved: Schemas["Signature"]): HTMLElement {
  const s = t();
  const text = h("textarea", { name: "signature", rows: 3, maxlength: 500 }, saved.text) as HTMLTextAreaElement;
  const [enabled, enabledRow] = checkbox(s.signatureOn, saved.enabled);
  return section(
    s.signature,
    [field(s.signature, text), enabledRow],
    () => ctx.api.setSignature({ text: text.value, enabled: enabled.checked }),
  );
}
