import { demoUsers, localToken, sessionOf, type Session } from "../api";
import { feedback } from "./form";
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
  const say = feedback();
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          signIn(await sessionOf(await localToken(select.value)));
        } catch (err) {
          say.fail(err);
        }
      },
    },
    h("h1", {}, s.signIn),
    field(s.signInAs, select),
    h("button", { type: "submit" }, s.signIn),
    say.element,
  );
  show(main, form);
}
