import { field, h, show } from "../dom";
import { t } from "../i18n";

const MAX_FILES = 3;
const ACCEPT = "image/jpeg,image/png,image/heic,image/webp,application/pdf";

/** A file picker for up to 3 photos or PDFs, with previews of what was chosen. */
export function filePicker(status: HTMLElement): {
  element: HTMLElement;
  chosen(): File[] | null;
  clear(): void;
} {
  const s = t();
  const input = h("input", { type: "file", multiple: true, accept: ACCEPT }) as HTMLInputElement;
  const previews = h("ul", { class: "previews" });
  const files = () => [...(input.files ?? [])];
  input.addEventListener("change", () => {
    status.textContent = files().length > MAX_FILES ? s.tooManyFiles : "";
    show(
      previews,
      files().map((f) =>
        h("li", {}, f.type.startsWith("image/") ? h("img", { src: URL.createObjectURL(f), alt: f.name }) : f.name),
      ),
    );
  });
  return {
    element: h("div", {}, field(s.attachments, input), previews),
    /** The files to send, or null (and a message) when there are too many. */
    chosen() {
      if (files().length > MAX_FILES) {
        status.textContent = s.tooManyFiles;
        return null;
      }
      return files();
    },
    clear() {
      input.value = "";
      show(previews);
    },
  };
}
