// English and French. The browser's language picks one; the header's select switches
// (remembered in localStorage).

import en from "./locales/en.json";
import frCatalog from "./locales/fr.json";

// Each catalog is a JSON file of its own (src/locales), so that a translator edits data,
// not code. English is the reference: every key of it must be in French too.
type Catalog = typeof en;
// A map of names is looked up by a value the API sends (a kind, a state, a status).
export type Strings = { [K in keyof Catalog]: Catalog[K] extends string ? string : Record<string, string> };

const fr: Strings = frCatalog;
// A key French has and English lacks (a stray or misspelled one) fails the build too.
const frOnly: Record<Exclude<keyof typeof frCatalog, keyof Catalog>, never> = {};
void frOnly;

export type Lang = "en" | "fr";
const STORED = "lang";

function initial(): Lang {
  const saved = localStorage.getItem(STORED);
  if (saved === "en" || saved === "fr") return saved;
  return navigator.language.toLowerCase().startsWith("fr") ? "fr" : "en";
}

let lang: Lang = initial();

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORED, next);
  document.documentElement.lang = next;
}

export function t(): Strings {
  return lang === "fr" ? fr : en;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(lang === "fr" ? "fr-CA" : "en-CA", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}
