import { demoUsers, localToken, sessionOf, type Session } from "../api";
import { beginHostedSignIn, type ClientConfig } from "../auth";
import { feedback } from "./form";
import { field, h, show } from "../dom";
import { t } from "../i18n";

/**
 * Signing in: through the hosted UI of the stack's identity provider (Cognito in AWS) and,
 * locally, a "Sign in as" picker over the demo users, signing in with a local token.
 */
export async function signInView(
  main: HTMLElement,
  signIn: (session: Session) => void,
  config: ClientConfig,
  failure?: unknown,
): Promise<void> {
  const s = t();
  const say = feedback();
  if (failure) say.fail(failure);
  const hosted = config.hosted_ui;
  const users = config.picker ? await demoUsers() : null;
  if (!hosted && !users) {
    show(main, h("p", {}, s.signInUnavailable));
    return;
  }
  const provider =
    hosted &&
    h("button", {
      type: "button",
      onclick: () => beginHostedSignIn(hosted).catch((err: unknown) => say.fail(err)),
    }, s.signInHosted);
  let picker: HTMLElement | null = null;
  if (users) {
    const select = h(
      "select",
      { name: "user" },
      users.map((u) => h("option", { value: u.id }, `${u.name} (${u.id})`)),
    ) as HTMLSelectElement;
    picker = h(
      "form",
      {
        class: "picker",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            signIn(await sessionOf(await localToken(select.value)));
          } catch (err) {
            say.fail(err);
          }
        },
      },
      field(s.signInAs, select),
      h("button", { type: "submit" }, s.signIn),
    );
  }
  show(main, h("div", { class: "card" }, h("h1", {}, s.signIn), provider, picker, say.element));
}
