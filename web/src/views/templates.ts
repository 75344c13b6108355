import type { Schemas } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import type { Context } from "../context";
import { checkbox, clicked, feedback, sender } from "./form";

/**
 * Staff: the saved replies they may use — their own and the organization's — to add, change
 * and delete (the organization's: facility admins only).
 */
export async function templatesSection(ctx: Context): Promise<HTMLElement> {
  const s = t();
  const admin = ctx.session.role === "facility_admin";
  const list = h("ul", { class: "consents" });
  const formSlot = h("div");
  const say = feedback();
  const mayChange = (tpl: Schemas["Template"]) => admin || tpl.scope === "personal";
  const draw = async () => {
    const templates = await ctx.api.templates();
    show(
      list,
      templates.length
        ? templates.map((tpl) =>
            h("li", { class: "check" },
              h("span", {}, tpl.name, h("span", { class: "meta" }, ` · ${s.scopes[tpl.scope]}`)),
              mayChange(tpl) && h("button", { type: "button", class: "link", "aria-label": `${s.edit}: ${tpl.name}`, onclick: () => edit(tpl) }, s.edit),
              mayChange(tpl) && h("button", { type: "button", class: "link", "aria-label": `${s.delete}: ${tpl.name}`, onclick: remove(tpl) }, s.delete),
            ),
          )
        : h("li", { class: "empty" }, s.noTemplates),
    );
  };
  const remove = (tpl: Schemas["Template"]) =>
    clicked(say, async () => {
      await ctx.api.deleteTemplate(tpl.id);
      await draw();
    }, s.saved);
  const edit = (tpl?: Schemas["Template"]) => {
    show(formSlot, templateForm(ctx, admin, tpl, async () => {
      show(formSlot);
      await draw();
      say.say(s.saved);
    }));
    formSlot.querySelector("input")?.focus();
  };
  await draw();
  return h(
    "section",
    { class: "card settings", "aria-labelledby": "templates-h" },
    h("h2", { id: "templates-h" }, s.templates),
    list,
    h("button", { type: "button", class: "secondary", onclick: () => edit() }, s.newTemplate),
    formSlot,
    say.element,
  );
}

function templateForm(ctx: Context, admin: boolean, saved: Schemas["Template"] | undefined, done: () => Promise<void>): HTMLElement {
  const s = t();
  const say = feedback();
  const name = h("input", { name: "template_name", required: true, maxlength: 100, value: saved?.name ?? "" }) as HTMLInputElement;
  const body = h("textarea", { name: "template_body", required: true, rows: 4, maxlength: 5000 }, saved?.body ?? "") as HTMLTextAreaElement;
  // The scope is set when a template is made; only facility admins keep one for everyone.
  const [everyone, everyoneRow] = checkbox(s.forEveryone, saved?.scope === "org");
  const button = h("button", { type: "submit" }, s.save) as HTMLButtonElement;
  const submit = sender(button, say, async () => {
    const template: Schemas["WriteTemplate"] = { name: name.value.trim(), body: body.value };
    if (!saved && admin) template.scope = everyone.checked ? "org" : "personal";
    await ctx.api.saveTemplate(template, saved?.id);
    await done();
    return true;
  });
  const title = saved ? `${s.edit}: ${saved.name}` : s.newTemplate;
  return h(
    "form",
    { onsubmit: submit, "aria-label": title, class: "picker" },
    h("h3", {}, title),
    field(s.name, name),
    field(s.templateBody, body),
    h("p", { class: "meta" }, s.placeholdersHelp),
    admin && !saved && everyoneRow,
    h("div", { class: "actions" }, button),
    say.element,
  );
}
