import { demoUsers, localToken, type Session } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";

/** Locally, a "Sign in as" picker over the demo users, signing in with a local token. */
export async function signInView(main: HTMLElement, signIn: (session: Session) => void): Promise<void> {
  const s = t();
  const users = await demoUsers();
  if (!users) {
    show(main, h("p", {}, s.signInUnavailable));
    return;
  }
  const select = h(
    "select",
    { name: "user" },
    users.map((u) => h("option", { value: u.id }, `${u.name} (${u.id})`)),
  ) as HTMLSelectElement;
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const user = users.find((u) => u.id === select.value)!;
        const token = await localToken(user.id);
        signIn({ token, userId: user.id, name: user.name, role: user.role });
      },
    },
    h("h1", {}, s.signIn),
    field(s.signInAs, select),
    h("button", { type: "submit" }, s.signIn),
  );
  show(main, form);
}
