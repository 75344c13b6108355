// A small element builder: the client has a handful of screens, so it builds the DOM
// directly instead of carrying a framework.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.replace(/^on/, "").toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replaces what `parent` shows. */
export function show(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren(...children.flat().filter((c): c is Node | string => !!c));
}

let lastId = 0;
/** A fresh id for pairing a label with its field. */
export function uid(prefix: string): string {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/** A labelled field: `<label for>` + the control. */
export function field(label: string, control: HTMLElement): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}
