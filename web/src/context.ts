import type { Api, Session } from "./api";

/** What a signed-in view is given. */
export interface Context {
  session: Session;
  api: Api;
  main: HTMLElement;
  /** Whether this view is still the one shown (a newer render replaces it). */
  current(): boolean;
  /** Calls `refresh` every few seconds while this view is shown (and the tab is visible). */
  poll(refresh: () => Promise<void>): void;
  go(hash: string): void;
}
