import { ApiError, type Api } from "../api";
import { field, h, show, uid } from "../dom";
import { t } from "../i18n";

const MAX_FILES = 3;
const ACCEPT = "image/jpeg,image/png,image/heic,image/webp,application/pdf";
/** Types a browser may leave empty (HEIC in Chrome), from the file name. */
const BY_EXTENSION: Record<string, string> = { heic: "image/heic", heif: "image/heic", webp: "image/webp" };

/** What a form says while it sends (a status) and when it fails (an alert). */
export function feedback() {
  const status = h("p", { role: "status" });
  const alert = h("p", { role: "alert", class: "error" });
  return {
    element: h("div", {}, status, alert),
    say(text: string) {
      status.textContent = text;
      alert.textContent = "";
    },
    fail(err: unknown) {
      status.textContent = "";
      alert.textContent = `${t().failed}: ${err instanceof ApiError ? err.message : String(err)}`;
    },
  };
}

export type Feedback = ReturnType<typeof feedback>;

/** A picker for up to 3 photos or PDFs, previewed; uploads them once (a retry reuses them). */
export function filePicker(say: Feedback) {
  const s = t();
  const input = h("input", { type: "file", multiple: true, accept: ACCEPT }) as HTMLInputElement;
  const previews = h("ul", { class: "previews" });
  const files = () => [...(input.files ?? [])];
  let uploaded: string[] | null = null;
  let urls: string[] = [];
  const clearPreviews = () => {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    show(previews);
  };
  input.addEventListener("change", () => {
    uploaded = null;
    clearPreviews();
    say.say(files().length > MAX_FILES ? s.tooManyFiles : "");
    show(
      previews,
      files().map((f) => {
        if (!f.type.startsWith("image/")) return h("li", {}, f.name);
        const url = URL.createObjectURL(f);
        urls.push(url);
        return h("li", {}, h("img", { src: url, alt: f.name }));
      }),
    );
  });
  return {
    element: h("div", {}, field(s.attachments, input), previews),
    /** The ids of the chosen files, uploading them the first time; null when there are too many. */
    async upload(api: Api): Promise<string[] | null> {
      if (files().length > MAX_FILES) {
        say.say(s.tooManyFiles);
        return null;
      }
      // The selection cannot change while it goes up.
      input.disabled = true;
      try {
        uploaded ??= await Promise.all(files().map((f) => api.upload(f, typeOf(f))));
      } finally {
        input.disabled = false;
      }
      return uploaded;
    },
    /** `sending` as is; uploads the server refused to attach are not offered again. */
    async guard<T>(sending: Promise<T>): Promise<T> {
      try {
        return await sending;
      } catch (err) {
        if (err instanceof ApiError && /attachment/.test(err.code)) uploaded = null;
        throw err;
      }
    },
    clear() {
      input.value = "";
      uploaded = null;
      clearPreviews();
    },
  };
}

function typeOf(file: File): string {
  return file.type || BY_EXTENSION[file.name.split(".").pop()?.toLowerCase() ?? ""] || "application/octet-stream";
}

/**
 * Sends a form: the button disabled meanwhile, "Sending…" then what `send` says or the failure. The
 * Idempotency-Key stays the same until a send succeeds, so pressing Send again after a lost
 * answer does not post twice.
 */
export function sender(button: HTMLButtonElement, say: Feedback, send: (key: string) => Promise<boolean | string>) {
  let key = crypto.randomUUID();
  return async (e: Event) => {
    e.preventDefault();
    button.disabled = true;
    say.say(t().sending);
    try {
      // Sent (a text: what to say about it), or false: not sent, nothing to say.
      const sent = await send(key);
      if (sent !== false) {
        key = crypto.randomUUID();
        say.say(typeof sent === "string" ? sent : "");
      }
    } catch (err) {
      // The key went with another request (the form changed after a lost answer): the
      // next send gets a fresh one.
      if (err instanceof ApiError && err.code === "idempotency_key_reused") key = crypto.randomUUID();
      say.fail(err);
    } finally {
      button.disabled = false;
    }
  };
}

/**
 * A row button's action: only once `confirm` (when given) is agreed to; the button disabled
 * while `run` goes, so it cannot be pressed twice; then what `done` says of the result, or the
 * failure.
 */
export function clicked<T>(
  say: Feedback,
  run: () => Promise<T>,
  done: string | ((result: T) => string),
  confirm?: string,
) {
  return async (e: Event) => {
    if (confirm && !window.confirm(confirm)) return;
    const button = e.currentTarget as HTMLButtonElement;
    button.disabled = true;
    try {
      const result = await run();
      say.say(typeof done === "string" ? done : done(result));
    } catch (err) {
      say.fail(err);
    } finally {
      button.disabled = false;
    }
  };
}

/** A settings section: its fields, Save, and what the server said. */
export function section(title: string, body: (HTMLElement | false | null)[], save: () => Promise<unknown>): HTMLElement {
  const s = t();
  const say = feedback();
  const id = uid("section");
  const button = h("button", { type: "submit" }, s.save) as HTMLButtonElement;
  const submit = sender(button, say, async () => {
    await save();
    return s.saved;
  });
  return h(
    "form",
    { class: "card settings", onsubmit: submit, "aria-labelledby": id },
    h("h2", { id }, title),
    ...body,
    h("div", { class: "actions" }, button),
    say.element,
  );
}

/** A labelled checkbox: the box, and the row that shows it with its label. */
export function checkbox(label: string, checked: boolean): [HTMLInputElement, HTMLElement] {
  const id = uid("check");
  const box = h("input", { type: "checkbox", id, checked }) as HTMLInputElement;
  return [box, h("div", { class: "check" }, box, h("label", { for: id }, label))];
}

/** The items of a comma-separated field, trimmed, empty ones left out. */
export function commaList(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter(Boolean);
}
