import type { Schemas } from "../api";
import { h, show } from "../dom";
import { t, when } from "../i18n";
import type { Context } from "../context";
import { feedback } from "./form";
import { searchForm } from "./inbox";

/** Messages matching every word, newest first, each opening its conversation. */
export async function searchView(ctx: Context, words: string): Promise<void> {
  const s = t();
  const list = h("ul", { class: "threads" });
  const say = feedback();
  const more = h("button", { type: "button", hidden: true }, s.loadMore) as HTMLButtonElement;
  show(
    ctx.main,
    h("a", { href: "#/", class: "back" }, `← ${s.back}`),
    h("h1", {}, s.searchResults),
    searchForm(ctx, words),
    list,
    more,
    say.element,
  );
  let cursor: string | null | undefined;
  const append = (hits: Schemas["SearchHit"][]) => {
    if (!hits.length && !list.childElementCount) list.append(h("li", { class: "empty" }, s.noResults));
    list.append(...hits.map(hit));
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.search(words, cursor ?? undefined);
      const first = list.childElementCount;
      append(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      (list.children[first]?.querySelector("a") ?? more).focus();
    } catch (err) {
      say.fail(err);
    } finally {
      more.disabled = false;
    }
  });
  const page = await ctx.api.search(words);
  if (!ctx.current()) return;
  append(page.items);
  cursor = page.next_cursor;
  more.hidden = !cursor;
}

function hit(found: Schemas["SearchHit"]): HTMLElement {
  const s = t();
  const resident = found.resident;
  return h(
    "li",
    { class: "thread" },
    h(
      "a",
      { href: `#/thread/${found.thread_id}` },
      h("span", { class: "subject" }, found.subject),
      h("span", { class: "meta" }, `${resident.name}${resident.unit ? ` · ${s.unit} ${resident.unit}` : ""}`),
      h("span", { class: "preview" }, found.snippet),
      h("time", { datetime: found.at }, when(found.at)),
    ),
  );
}
