import { acceptInvite } from "../api";
import { field, h, show } from "../dom";
import { t } from "../i18n";
import { feedback } from "./form";

/** Where the token of an invitation link waits while its page shows (never in the address bar). */
export const INVITE_TOKEN = "invite-token";

/** An invitation link: the invited person chooses the password they will sign in with. */
export function inviteView(main: HTMLElement, done: () => void): void {
  const s = t();
  const token = sessionStorage.getItem(INVITE_TOKEN);
  if (!token) {
    show(main, h("h1", {}, s.invitation), h("p", { role: "alert" }, s.inviteMissing));
    return;
  }
  const say = feedback();
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 12, maxlength: 256 }) as HTMLInputElement;
  const again = h("input", { type: "password", name: "password_again", autocomplete: "new-password", required: true, minlength: 12, maxlength: 256 }) as HTMLInputElement;
  const button = h("button", { type: "submit" }, s.createAccount) as HTMLButtonElement;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password.value !== again.value) {
      say.fail(s.passwordsDiffer);
      return;
    }
    button.disabled = true;
    try {
      await acceptInvite(token, password.value);
      sessionStorage.removeItem(INVITE_TOKEN);
      show(
        main,
        h("div", { class: "card" },
          h("h1", {}, s.accountReady),
          h("p", { role: "status" }, s.accountReadyHelp),
          h("button", { type: "button", onclick: done }, s.signIn),
        ),
      );
    } catch (err) {
      say.fail(err);
      button.disabled = false;
    }
  };
  show(
    main,
    h("form", { class: "card", onsubmit: submit },
      h("h1", {}, s.invitation),
      h("p", {}, s.inviteHelp),
      field(s.password, password),
      field(s.passwordAgain, again),
      h("div", { class: "actions" }, button),
      say.element,
    ),
  );
}
