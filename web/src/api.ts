// The API client: typed by the types generated from the API's own OpenAPI document
// (npm run types), so a renamed field breaks the build, not the page.

import type { components } from "./api/schema";
import type { HostedUi } from "./auth";

export type Schemas = components["schemas"];
export type Thread = Schemas["Thread"];
export type ThreadSummary = Schemas["ThreadSummary"];
export type TimelineItem = Schemas["TimelineItem"];
/** A status, or `active`: every status but archived. */
export type Folder = Schemas["ThreadStatus"] | "active";
export type Role = Schemas["Role"];

/** Staff and facility admins work the inbox; residents (and vendors) do not. */
export function isStaffRole(role: Role): boolean {
  return role === "staff" || role === "facility_admin";
}

export type Priority = Schemas["Priority"];

/** Every notification channel, in the order they are offered. */
export const CHANNELS: Schemas["Channel"][] = ["email", "sms", "whatsapp", "push", "telegram"];
export type LinkedRecord = Schemas["LinkedRecord"];

export interface Session {
  token: string;
  userId: string;
  name: string;
  role: Role;
  /** The properties staff work for (empty: all of the organization's). */
  propertyIds: string[];
  /** Signed in through the hosted UI: where to renew the token and sign out. */
  hostedUi?: HostedUi;
  refreshToken?: string;
}

/** What the staff inbox narrows to (absent: any). */
export interface Filters {
  topic?: string;
  property_id?: string;
  assignee?: string;
  priority?: string;
}

/** What goes with a reply besides its text. */
export interface PostOptions {
  internal: boolean;
  attachmentIds: string[];
  /** Staff: a saved reply rendered by the server instead of `body`. */
  templateId?: string;
  /** Staff: post it then (RFC 3339), not now. */
  sendAt?: string;
  /** Staff: refuse (409 thread_moved_on) if the thread has a newer message than this. */
  expectedLastMessageId?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How long the staff directory a user read is used again. */
const STAFF_TTL_MS = 60_000;
const staffDirectory = new Map<string, { at: number; list: Promise<Schemas["Contact"][]> }>();

export class Api {
  /**
   * `renew`: a fresh token when the API answers 401 (the ID token expired), or null when
   * there is none to be had.
   */
  constructor(
    private readonly session: Session,
    private readonly renew: () => Promise<string | null> = async () => null,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, idempotencyKey?: string, as: "json" | "blob" = "json"): Promise<T> {
    const send = (token: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
      return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    };
    let resp = await send(this.session.token);
    if (resp.status === 401) {
      const token = await this.renew().catch(() => null);
      if (token) {
        this.session.token = token;
        resp = await send(token);
      }
    }
    if (resp.status === 204) return undefined as T;
    if (as === "blob" && resp.ok) return (await resp.blob()) as T;
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const error = (data as Partial<Schemas["Error"]>).error;
      throw new ApiError(resp.status, error?.code ?? "unknown", error?.message ?? resp.statusText);
    }
    return data as T;
  }

  threads(folder: Folder, cursor?: string, limit = 25, filters: Filters = {}): Promise<Schemas["ThreadPage"]> {
    const q = new URLSearchParams({ limit: String(limit) });
    q.set("folder", folder);
    for (const [name, value] of Object.entries(filters)) if (value) q.set(name, value);
    if (cursor) q.set("cursor", cursor);
    return this.call("GET", `/v1/threads?${q}`);
  }

  thread(id: string): Promise<Thread> {
    return this.call("GET", `/v1/threads/${encodeURIComponent(id)}`);
  }

  /** Every item of a list, page after page of 100 (at most `maxPages` pages). */
  private async allPages<T>(path: string, params: Record<string, string>, maxPages: number): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | null | undefined;
    for (let pages = 0; pages < maxPages; pages += 1) {
      const q = new URLSearchParams({ ...params, limit: "100" });
      if (cursor) q.set("cursor", cursor);
      const page: { items: T[]; next_cursor?: string | null } = await this.call("GET", `${path}?${q}`);
      all.push(...page.items);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return all;
  }

  /** The whole timeline, oldest first. */
  timeline(id: string): Promise<TimelineItem[]> {
    return this.allPages(`/v1/threads/${encodeURIComponent(id)}/messages`, {}, Infinity);
  }

  startThread(topic: string, subject: string, body: string, attachmentIds: string[], key: string): Promise<Thread> {
    const request: Schemas["CreateThread"] = { topic, subject, body };
    if (attachmentIds.length) request.attachment_ids = attachmentIds;
    return this.call("POST", "/v1/threads", request, key);
  }

  /** A message posted now (201) or scheduled (202). */
  post(threadId: string, body: string, options: PostOptions, key: string): Promise<Schemas["TimelineItem"] | Schemas["ScheduledRecord"]> {
    const request: Schemas["PostMessage"] = options.templateId ? { template_id: options.templateId } : { body };
    if (options.internal) request.internal = true;
    if (options.attachmentIds.length) request.attachment_ids = options.attachmentIds;
    if (options.sendAt) request.send_at = options.sendAt;
    if (options.expectedLastMessageId) request.expected_last_message_id = options.expectedLastMessageId;
    return this.call("POST", `/v1/threads/${encodeURIComponent(threadId)}/messages`, request, key);
  }

  markRead(threadId: string, messageId: string): Promise<void> {
    return this.call("POST", `/v1/threads/${encodeURIComponent(threadId)}/read`, { message_id: messageId });
  }

  /** Staff: status, priority or linked record (`linked_record: null` unlinks). */
  update(threadId: string, change: Schemas["UpdateThread"]): Promise<Thread> {
    return this.call("PATCH", `/v1/threads/${encodeURIComponent(threadId)}`, change);
  }

  addParticipant(threadId: string, userId: string): Promise<Thread> {
    return this.call("POST", `/v1/threads/${encodeURIComponent(threadId)}/participants`, { user_id: userId });
  }

  removeParticipant(threadId: string, userId: string): Promise<void> {
    return this.call(
      "DELETE",
      `/v1/threads/${encodeURIComponent(threadId)}/participants/${encodeURIComponent(userId)}`,
    );
  }

  /**
   * Staff: the organization's staff, by name (every page, at most 20: the server reads up
   * to 1,000 contacts for each, so an org of 20,000 is covered).
   */
  staff(): Promise<Schemas["Contact"][]> {
    // Every inbox and thread shows it: read once a minute, not on each view.
    const cached = staffDirectory.get(this.session.userId);
    if (cached && Date.now() - cached.at < STAFF_TTL_MS) return cached.list;
    const list = this.readStaff();
    list.catch(() => staffDirectory.delete(this.session.userId));
    staffDirectory.set(this.session.userId, { at: Date.now(), list });
    return list;
  }

  private readStaff(): Promise<Schemas["Contact"][]> {
    return this.allPages("/v1/contacts", { kind: "staff" }, 20);
  }

  /** Staff: the saved replies the caller may use. */
  async templates(): Promise<Schemas["Template"][]> {
    const list: Schemas["TemplateList"] = await this.call("GET", "/v1/templates");
    return list.items;
  }

  /** Staff: escalated threads waiting for someone to acknowledge them (the first page). */
  triageQueue(): Promise<Schemas["TriageQueuePage"]> {
    return this.call("GET", "/v1/triage/queue?limit=100");
  }

  acknowledge(threadId: string): Promise<Thread> {
    return this.call("POST", `/v1/threads/${encodeURIComponent(threadId)}/acknowledge`);
  }

  correctTriage(threadId: string, path: Schemas["Path"]): Promise<Thread> {
    return this.call("PUT", `/v1/threads/${encodeURIComponent(threadId)}/triage`, { path });
  }

  /** Staff: contacts by name prefix and kind (both optional). */
  contacts(name: string, kind: string, cursor?: string): Promise<Schemas["ContactPage"]> {
    const q = new URLSearchParams({ limit: "50" });
    if (name) q.set("q", name);
    if (kind) q.set("kind", kind);
    if (cursor) q.set("cursor", cursor);
    return this.call("GET", `/v1/contacts?${q}`);
  }

  messagingSettings(): Promise<Schemas["MessagingSettings"]> {
    return this.call("GET", "/v1/settings/messaging");
  }

  setMessagingSettings(settings: Schemas["MessagingSettings"]): Promise<Schemas["MessagingSettings"]> {
    return this.call("PUT", "/v1/settings/messaging", settings);
  }

  businessHours(): Promise<Schemas["BusinessHours"]> {
    return this.call("GET", "/v1/settings/business-hours");
  }

  setBusinessHours(hours: Schemas["BusinessHours"]): Promise<Schemas["BusinessHours"]> {
    return this.call("PUT", "/v1/settings/business-hours", hours);
  }

  routing(): Promise<Schemas["RoutingSettings"]> {
    return this.call("GET", "/v1/settings/routing");
  }

  setRouting(routing: Schemas["RoutingSettings"]): Promise<Schemas["RoutingSettings"]> {
    return this.call("PUT", "/v1/settings/routing", routing);
  }

  retention(): Promise<Schemas["RetentionSettings"]> {
    return this.call("GET", "/v1/settings/retention");
  }

  setRetention(retention: Schemas["RetentionSettings"]): Promise<Schemas["RetentionSettings"]> {
    return this.call("PUT", "/v1/settings/retention", retention);
  }

  preferences(): Promise<Schemas["NotificationPreferences"]> {
    return this.call("GET", "/v1/me/notification-preferences");
  }

  setPreferences(preferences: Schemas["NotificationPreferences"]): Promise<Schemas["NotificationPreferences"]> {
    return this.call("PUT", "/v1/me/notification-preferences", preferences);
  }

  /** Residents: each category that needs consent, and whether they get it. */
  consents(): Promise<Schemas["ConsentList"]> {
    return this.call("GET", "/v1/me/consents");
  }

  setConsent(categoryId: string, subscribed: boolean): Promise<Schemas["ConsentView"]> {
    return this.call("PUT", `/v1/me/consents/${encodeURIComponent(categoryId)}`, { subscribed });
  }

  signature(): Promise<Schemas["Signature"]> {
    return this.call("GET", "/v1/me/signature");
  }

  setSignature(signature: Schemas["Signature"]): Promise<Schemas["Signature"]> {
    return this.call("PUT", "/v1/me/signature", signature);
  }

  /** Staff: a saved reply, new (`id` absent) or changed. */
  saveTemplate(template: Schemas["WriteTemplate"], id?: string): Promise<Schemas["Template"]> {
    return id
      ? this.call("PUT", `/v1/templates/${encodeURIComponent(id)}`, template)
      : this.call("POST", "/v1/templates", template);
  }

  deleteTemplate(id: string): Promise<void> {
    return this.call("DELETE", `/v1/templates/${encodeURIComponent(id)}`);
  }

  contact(id: string): Promise<Schemas["Contact"]> {
    return this.call("GET", `/v1/contacts/${encodeURIComponent(id)}`);
  }

  /** Admins: corrects a contact's details (absent fields stay, null clears). */
  updateContact(id: string, patch: Schemas["ContactPatch"]): Promise<Schemas["Contact"]> {
    return this.call("PATCH", `/v1/contacts/${encodeURIComponent(id)}`, patch);
  }

  /** Staff: where a contact stands with each category, and the ledger. */
  contactConsents(id: string): Promise<Schemas["ContactConsents"]> {
    return this.call("GET", `/v1/contacts/${encodeURIComponent(id)}/consents`);
  }

  /** Admins: a consent given or withdrawn outside the portal, with its evidence. */
  recordConsent(id: string, consent: Schemas["RecordConsent"]): Promise<unknown> {
    return this.call("POST", `/v1/contacts/${encodeURIComponent(id)}/consents`, consent);
  }

  /** Admins: a new contact. */
  createContact(contact: Schemas["NewContact"], key: string): Promise<Schemas["Contact"]> {
    return this.call("POST", "/v1/contacts", contact, key);
  }

  /** Admins: e-mails the contact a link to set up their account. */
  invite(contactId: string): Promise<Schemas["Invited"]> {
    return this.call("POST", `/v1/contacts/${encodeURIComponent(contactId)}/invite`);
  }

  /** Admins: archive (now), restore, lock (with its reason) or unlock an account. */
  contactAction(contactId: string, action: "archive" | "unarchive" | "lock" | "unlock", reason?: string): Promise<Schemas["Contact"]> {
    const body = action === "archive" ? {} : action === "lock" ? { reason } : undefined;
    return this.call("POST", `/v1/contacts/${encodeURIComponent(contactId)}/${action}`, body);
  }

  /** Admins write, staff read: the organization's communication categories. */
  async categories(): Promise<Schemas["Category"][]> {
    const list: Schemas["CategoryList"] = await this.call("GET", "/v1/categories");
    return list.items;
  }

  /** A new category (`id` absent) or a change to one. */
  saveCategory(category: Schemas["WriteCategory"], id?: string): Promise<Schemas["Category"]> {
    return id
      ? this.call("PATCH", `/v1/categories/${encodeURIComponent(id)}`, category)
      : this.call("POST", "/v1/categories", category);
  }

  /** Admins: the newest campaigns (the first page). */
  campaigns(): Promise<Schemas["CampaignPage"]> {
    return this.call("GET", "/v1/campaigns?limit=50");
  }

  createCampaign(campaign: Schemas["CreateCampaign"], key: string): Promise<Schemas["CampaignBody"]> {
    return this.call("POST", "/v1/campaigns", campaign, key);
  }

  cancelCampaign(id: string): Promise<Schemas["CampaignBody"]> {
    return this.call("POST", `/v1/campaigns/${encodeURIComponent(id)}/cancel`);
  }

  /** Admins: the organization's webhook endpoints (at most 10). */
  async webhooks(): Promise<Schemas["Webhook"][]> {
    const list: Schemas["WebhookList"] = await this.call("GET", "/v1/webhooks");
    return list.items;
  }

  /** A new endpoint, with its secret (shown this once). */
  createWebhook(webhook: Schemas["CreateWebhook"]): Promise<Schemas["Webhook"]> {
    return this.call("POST", "/v1/webhooks", webhook);
  }

  deleteWebhook(id: string): Promise<void> {
    return this.call("DELETE", `/v1/webhooks/${encodeURIComponent(id)}`);
  }

  /** A new secret (shown this once), or a disabled endpoint sending again. */
  webhookAction(id: string, action: "rotate" | "enable"): Promise<Schemas["Webhook"]> {
    return this.call("POST", `/v1/webhooks/${encodeURIComponent(id)}/${action}`);
  }

  /** An endpoint's latest deliveries, newest first. */
  deliveries(id: string): Promise<Schemas["DeliveryPage"]> {
    return this.call("GET", `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=20`);
  }

  redeliver(id: string, deliveryId: string): Promise<Schemas["WebhookDelivery"]> {
    return this.call("POST", `/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`);
  }

  triageSettings(): Promise<Schemas["TriageSettings"]> {
    return this.call("GET", "/v1/settings/triage");
  }

  setTriageSettings(settings: Schemas["TriageSettings"]): Promise<Schemas["TriageSettings"]> {
    return this.call("PUT", "/v1/settings/triage", settings);
  }

  notificationDefaults(): Promise<Schemas["NotificationDefaults"]> {
    return this.call("GET", "/v1/settings/notifications");
  }

  setNotificationDefaults(defaults: Schemas["NotificationDefaults"]): Promise<Schemas["NotificationDefaults"]> {
    return this.call("PUT", "/v1/settings/notifications", defaults);
  }

  /** Staff: their scheduled messages (admins: everyone's), soonest first: every page (at most 10 of 100). */
  scheduled(): Promise<Schemas["ScheduledRecord"][]> {
    return this.allPages("/v1/scheduled", {}, 10);
  }

  editScheduled(id: string, change: Schemas["EditScheduled"]): Promise<Schemas["ScheduledRecord"]> {
    return this.call("PATCH", `/v1/scheduled/${encodeURIComponent(id)}`, change);
  }

  cancelScheduled(id: string): Promise<void> {
    return this.call("DELETE", `/v1/scheduled/${encodeURIComponent(id)}`);
  }

  /** Staff: the response metrics of a period (dates as YYYY-MM-DD; empty: the API's default). */
  metrics(from: string, to: string, propertyId: string): Promise<Schemas["Metrics"]> {
    const q = new URLSearchParams();
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    if (propertyId) q.set("property_id", propertyId);
    return this.call("GET", `/v1/metrics?${q}`);
  }

  /** Staff: a conversation's transcript with its audit chain, as a PDF. */
  transcript(threadId: string, includeInternal: boolean): Promise<Blob> {
    const q = new URLSearchParams({ format: "pdf", include_internal: String(includeInternal) });
    return this.call("GET", `/v1/threads/${encodeURIComponent(threadId)}/export?${q}`, undefined, undefined, "blob");
  }

  search(q: string, cursor?: string): Promise<Schemas["SearchPage"]> {
    const query = new URLSearchParams({ q, limit: "25" });
    if (cursor) query.set("cursor", cursor);
    return this.call("GET", `/v1/search?${query}`);
  }

  attachment(id: string): Promise<Schemas["Attachment"]> {
    return this.call("GET", `/v1/attachments/${encodeURIComponent(id)}`);
  }

  /** Uploads a file straight to storage through a presigned PUT; its attachment id. */
  async upload(file: File, contentType: string): Promise<string> {
    const upload: Schemas["Upload"] = await this.call("POST", "/v1/attachments", {
      file_name: file.name,
      content_type: contentType,
      size_bytes: file.size,
    });
    const headers = Object.fromEntries(
      Object.entries(upload.upload_headers).filter(([name]) => name.toLowerCase() !== "content-length"),
    );
    const put = await fetch(upload.upload_url, { method: "PUT", headers, body: file });
    if (!put.ok) throw new ApiError(put.status, "upload_failed", put.statusText);
    return upload.id;
  }
}

/** Sets the password of an invited account (the invitation's token is the credential). */
export async function acceptInvite(token: string, password: string): Promise<void> {
  const resp = await fetch("/v1/invites/accept", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, password }),
  });
  if (!resp.ok) {
    const error = ((await resp.json().catch(() => ({}))) as Partial<Schemas["Error"]>).error;
    throw new ApiError(resp.status, error?.code ?? "unknown", error?.message ?? resp.statusText);
  }
}

/** The local stack's demo users, or null where it does not offer them. */
export async function demoUsers(): Promise<{ id: string; name: string }[] | null> {
  const resp = await fetch("/local/users").catch(() => null);
  return resp && resp.ok ? resp.json() : null;
}

/** The session of a token: who the API says its user is. */
export async function sessionOf(token: string): Promise<Session> {
  const resp = await fetch("/v1/me", { headers: { authorization: `Bearer ${token}` } });
  if (!resp.ok) throw new ApiError(resp.status, "sign_in_failed", resp.statusText);
  const me: Schemas["Me"] = await resp.json();
  return { token, userId: me.id, name: me.name, role: me.role, propertyIds: me.property_ids };
}

export async function localToken(userId: string): Promise<string> {
  const resp = await fetch("/local/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!resp.ok) throw new ApiError(resp.status, "sign_in_failed", resp.statusText);
  return (await resp.json()).token;
}
