// The web client in a real browser (Debian's chromium, driven by playwright-core) against
// a running local stack at BASE_URL: a resident starts a conversation and attaches a
// photo; staff see it in Unread, reply, add an internal note and resolve; the resident
// sees the reply (not the note) and re-opens it; an admin finds it by search, marks it
// urgent, links an invoice, brings a colleague in and out, downloads the transcript, answers
// with a saved reply (written in the settings), reads the metrics,
// schedules a follow-up, filters the inbox, acknowledges an emergency in the triage queue
// and looks up contacts, adds a neighbour (locked, unlocked, invited), sets the organization's
// messaging, hours, routing, triage rules and default channels, creates a category and a
// campaign (cancelled), adds a webhook and reads its delivery log, corrects a contact and
// records their consent with its evidence; the
// resident sees the invoice, not the
// scheduled message, adds a WhatsApp channel and opts out of a newsletter; the French
// labels; the links of an invitation and of a notification e-mail; signing in through the identity provider's hosted UI (the local stand-in) with an
// expired token renewed; an accessibility scan of each view; the phone width; the size of
// the JavaScript. Exits non-zero on the first failure.
// SCREENSHOTS=dir writes a screenshot of each view there.

import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const EMULATOR = process.env.EMULATOR_URL;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS;
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const DIST = new URL("../dist/assets/", import.meta.url);
const TIMEOUT = 15_000;

// A 1×1 PNG: what the resident attaches.
const PHOTO = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2b1a1f30000000049454e44ae426082",
  "hex",
);

function step(name) {
  console.log(`browser: ${name}`);
}

/** Serious or critical findings of axe-core on the page as it is. */
async function axeScan(page, where) {
  // Evaluated, not a script tag: the page's Content-Security-Policy allows no inline script.
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.deepEqual(found, [], `accessibility findings on ${where}`);
}

async function signIn(page, user) {
  await page.goto(BASE);
  await page.getByLabel(/Sign in as|Se connecter en tant que/).selectOption(user);
  await page.getByRole("button", { name: /^(Sign in|Se connecter)$/ }).click();
  await page.getByRole("heading", { name: "Messages" }).waitFor();
}

/** A call to the API as `user` (a local token), for what the test sets up outside the client. */
async function api(user, method, path, body) {
  const minted = await fetch(`${BASE}/local/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: user }),
  });
  const { token } = await minted.json();
  const resp = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(resp.ok, `${method} ${path}: ${resp.status}`);
  return resp.status === 204 ? null : resp.json();
}

/** The newest e-mail the stack sent `to` that holds a link to `path`: that link. */
async function linkIn(to, path) {
  const sent = await (await fetch(`${EMULATOR}/_local/ses/sent`)).json();
  const bodies = sent.items.filter((m) => m.to.includes(to)).map((m) => m.body).reverse();
  for (const body of bodies) {
    const found = body.match(new RegExp(`https?://\\S+${path}\\S*`));
    if (found) return found[0];
  }
  return null;
}

/** `datetime-local`'s value for a day from now. */
function tomorrow() {
  const d = new Date(Date.now() + 24 * 3600 * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function signOut(page) {
  await page.getByRole("button", { name: /Sign out|Se déconnecter/ }).click();
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ locale: "en-CA", viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const stamp = Date.now();
  const subject = `Leak under the sink ${stamp}`;

  step("the resident signs in; time to the inbox listed");
  const started = Date.now();
  await signIn(page, "resident-1");
  await page.locator("ul.threads").waitFor();
  console.log(`browser: sign-in to inbox listed took ${Date.now() - started} ms`);
  await axeScan(page, "the resident's inbox");

  step("the resident starts a conversation with a photo, previewed before it is sent");
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.getByLabel("Topic").selectOption("maintenance");
  await page.getByLabel("Subject").fill(subject);
  await page.getByLabel("Message", { exact: true }).fill("Water is pooling under the kitchen sink.");
  await page.getByLabel(/Attachments/).setInputFiles({ name: "sink.png", mimeType: "image/png", buffer: PHOTO });
  await page.getByRole("img", { name: "sink.png" }).waitFor();
  await axeScan(page, "the new conversation form");
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByRole("heading", { name: subject }).waitFor();
  const first = page.getByRole("article", { name: "Rita Resident" }).first();
  await first.getByRole("button", { name: "sink.png" }).waitFor();
  await axeScan(page, "the resident's thread");
  await shot(page, "resident-thread");
  const threadUrl = page.url();
  await signOut(page);

  // The resident keeps the conversation open in another window: staff's reply must show
  // up there without a reload.
  const watching = await browser.newContext({ locale: "en-CA" });
  watching.setDefaultTimeout(TIMEOUT);
  const watcher = await watching.newPage();
  await signIn(watcher, "resident-1");
  await watcher.goto(threadUrl);
  await watcher.getByRole("heading", { name: subject }).waitFor();

  step("staff see it in Unread, reply, add a note and resolve");
  await signIn(page, "maint-1");
  await page.getByRole("navigation").getByRole("link", { name: "Unread" }).click();
  const row = page.getByRole("link", { name: new RegExp(subject) });
  await row.waitFor();
  await axeScan(page, "the staff inbox");
  await shot(page, "staff-inbox");
  await row.click();
  await page.getByRole("heading", { name: subject }).waitFor();
  await page.getByRole("button", { name: "sink.png" }).waitFor();
  await page.getByLabel("Reply").fill("A plumber will come tomorrow morning.");
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByText("A plumber will come tomorrow morning.").waitFor();
  step("the reply appears in the resident's open window without a reload");
  await watcher.getByText("A plumber will come tomorrow morning.").waitFor();
  await watching.close();
  await page.getByLabel("Reply").fill("Check whether the pipe is under warranty.");
  await page.getByLabel("Internal note").check();
  await page.getByRole("button", { name: "Send" }).click();
  const note = page.getByRole("article", { name: /Internal note/ });
  await note.getByText("Check whether the pipe is under warranty.").waitFor();
  await page.getByRole("button", { name: "Resolve" }).click();
  await page.getByText("Status: Resolved").waitFor();
  await axeScan(page, "the staff thread");
  await shot(page, "staff-thread");
  await signOut(page);

  step("the resident sees the reply, never the note, and re-opens by replying");
  await signIn(page, "resident-1");
  await page.goto(threadUrl);
  await page.getByText("A plumber will come tomorrow morning.").waitFor();
  await page.getByText(/resolved\. Replying re-opens it/).waitFor();
  assert.equal(await page.getByText("warranty").count(), 0, "the internal note reached the resident");
  await page.getByLabel("Reply").fill("Thanks, but it is still leaking.");
  await page.getByRole("button", { name: "Send" }).click();
  // Re-opened: waiting for staff again.
  await page.getByText("Status: Unread").waitFor();
  assert.equal(await page.getByText(/Replying re-opens it/).count(), 0);

  step("at a phone's width nothing runs off the side");
  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByText("Status: Unread").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the thread is ${overflow}px wider than a phone`);
  await context.close();

  step("an admin finds it by search, marks it urgent, links the invoice, brings a colleague in and out");
  const office = await browser.newContext({ locale: "en-CA", viewport: { width: 1200, height: 900 } });
  office.setDefaultTimeout(TIMEOUT);
  const admin = await office.newPage();
  await signIn(admin, "admin-1");
  // A saved reply for everyone, written in the admin's settings.
  const templateName = `Plumber visit ${stamp}`;
  await admin.getByRole("link", { name: "Settings" }).click();
  const templates = admin.getByRole("region", { name: "Templates" });
  await templates.getByRole("button", { name: "New template" }).click();
  await templates.getByLabel("Name").fill(templateName);
  await templates.getByLabel("Text").fill("Hi {{resident.first_name|there}}, the plumber comes to unit {{unit}}.");
  await templates.getByLabel("For everyone in the organization").check();
  await templates.getByRole("button", { name: "Save" }).click();
  await templates.getByText("Saved.").waitFor();
  await templates.getByRole("listitem").filter({ hasText: `${templateName} · everyone` }).waitFor();
  await axeScan(admin, "the staff settings with templates");
  await admin.getByRole("link", { name: "Messages" }).click();
  await admin.getByLabel("Search").fill(String(stamp));
  await admin.getByRole("button", { name: "Search" }).click();
  await admin.getByRole("heading", { name: "Search results" }).waitFor();
  await axeScan(admin, "the search results");
  await admin.getByRole("link", { name: new RegExp(subject) }).first().click();
  await admin.getByRole("heading", { name: subject }).waitFor();
  await admin.getByLabel("Priority").selectOption("urgent");
  await admin.getByText("Avery Admin changed the priority to Urgent").waitFor();
  await admin.getByLabel("Kind").selectOption("invoice");
  await admin.getByLabel("Record number").fill("INV-42");
  await admin.getByLabel("Description (optional)").fill("Plumbing repair");
  await admin.getByRole("button", { name: "Link", exact: true }).click();
  await admin.getByText("Invoice INV-42 · Plumbing repair").waitFor();
  const people = admin.getByRole("region", { name: "Who's in the conversation" });
  await admin.getByLabel("Add to the conversation").selectOption("bookkeeper-1");
  await admin.getByRole("button", { name: "Add", exact: true }).click();
  await people.getByRole("button", { name: "Remove Billie Books" }).click();
  await admin.getByText("Billie Books left").waitFor();
  assert.equal(await people.getByRole("listitem").filter({ hasText: "Billie Books" }).count(), 0, "Billie Books is still listed");
  await admin.getByText("Billie Books joined").waitFor();

  step("the admin answers with a saved reply, then schedules a follow-up");
  await admin.getByLabel("Template").selectOption({ label: templateName });
  await admin.getByRole("button", { name: "Send" }).click();
  await admin.getByText("Hi Rita, the plumber comes to unit 101.").waitFor();
  await admin.getByLabel("Reply").fill("Did the plumber fix the leak?");
  await admin.getByLabel("Send later (optional)").fill(tomorrow());
  await admin.getByRole("button", { name: "Send" }).click();
  await admin.getByText(/^Scheduled for /).waitFor();
  const [download] = await Promise.all([admin.waitForEvent("download"), admin.getByRole("button", { name: "Transcript (PDF)" }).click()]);
  assert.match(download.suggestedFilename(), /^conversation-\w+\.pdf$/);
  const pdf = readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-", "the transcript is not a PDF");
  await axeScan(admin, "the staff thread with its tools");
  await shot(admin, "staff-thread-tools");

  step("the admin's inbox filtered by priority");
  await admin.getByRole("link", { name: /Back to the list/ }).click();
  await admin.getByRole("navigation").getByRole("link", { name: "Open" }).click();
  const urgentRow = admin.getByRole("link", { name: new RegExp(subject) });
  await admin.getByLabel("Priority").selectOption("urgent");
  await urgentRow.getByText("Urgent").waitFor();
  await axeScan(admin, "the filtered staff inbox");
  await admin.getByLabel("Priority").selectOption("normal");
  await urgentRow.waitFor({ state: "detached" });
  await admin.getByLabel("Priority").selectOption("");
  await urgentRow.waitFor();

  step("the admin moves the follow-up a day later and cancels another scheduled message");
  const threadId = threadUrl.split("/").pop();
  const inTwoDays = new Date(Date.now() + 48 * 3600 * 1000).toISOString();
  const extra = await api("admin-1", "POST", `/v1/threads/${threadId}/messages`, { body: `Reminder ${stamp}`, send_at: inTwoDays });
  await admin.getByRole("link", { name: "Scheduled messages" }).click();
  await admin.getByRole("heading", { name: "Scheduled messages" }).waitFor();
  const followUp = "Did the plumber fix the leak?";
  const later = new Date(Date.now() + 72 * 3600 * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  await admin.getByLabel(`Send at: ${followUp}`).fill(`${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T09:30`);
  await admin.getByRole("button", { name: `Move: ${followUp}` }).click();
  await admin.getByText(`${followUp}: Saved.`).waitFor();
  await admin.getByRole("button", { name: `Cancel: Reminder ${stamp}` }).click();
  await admin.getByText(`Reminder ${stamp}: cancelled, it will not be sent`).waitFor();
  await axeScan(admin, "the scheduled messages");
  const pendingNow = (await api("admin-1", "GET", "/v1/scheduled?limit=100")).items;
  const moved = pendingNow.find((m) => m.body.startsWith(followUp));
  assert.equal(new Date(moved.send_at).getTime(), new Date(later.getFullYear(), later.getMonth(), later.getDate(), 9, 30).getTime());
  assert.ok(!pendingNow.some((m) => m.id === extra.id && m.status === "scheduled"), "the cancelled message is still scheduled");

  step("the admin acknowledges an emergency in the triage queue and looks up contacts");
  const gas = `Smell of gas ${stamp}`;
  await api("resident-2", "POST", "/v1/threads", {
    topic: "maintenance",
    subject: gas,
    body: "There is a strong smell of gas in the hallway",
  });
  await admin.getByRole("link", { name: "Triage queue" }).click();
  await admin.getByRole("heading", { name: "Triage queue" }).waitFor();
  const waiting = admin.getByRole("listitem").filter({ hasText: gas });
  await waiting.getByText("Emergency").waitFor();
  await axeScan(admin, "the triage queue");
  await waiting.getByRole("button", { name: `Acknowledge: ${gas}` }).click();
  await admin.getByText(`Acknowledged: ${gas}`).waitFor();
  await waiting.waitFor({ state: "detached" });
  await admin.getByRole("link", { name: "Contacts" }).click();
  await admin.getByRole("heading", { name: "Contacts" }).waitFor();
  // Everyone is listed at first; each search replaces the list.
  await admin.getByRole("cell", { name: "Billie Books" }).waitFor();
  const lookup = admin.getByRole("search", { name: "Contacts" });
  await lookup.getByLabel("Name").fill("Rit");
  await lookup.getByRole("button", { name: "Search" }).click();
  await admin.getByRole("cell", { name: "Billie Books" }).waitFor({ state: "detached" });
  await admin.getByRole("cell", { name: "resident-1@demo.example.com" }).waitFor();
  await lookup.getByLabel("Name").fill("");
  await lookup.getByLabel("Kind").selectOption("staff");
  await admin.getByRole("cell", { name: "Billie Books" }).waitFor();
  await admin.getByRole("cell", { name: "Rita Resident" }).waitFor({ state: "detached" });
  await axeScan(admin, "the contacts");

  step("the admin reads the response metrics");
  await admin.getByRole("link", { name: "Metrics" }).click();
  const firstReply = admin.getByRole("table", { name: "Response times" }).getByRole("row").filter({ hasText: "First reply by staff" });
  await firstReply.waitFor();
  // At least the leak, answered by maint-1 before the admin came: a count and a median.
  const [count, median] = (await firstReply.getByRole("cell").allTextContents()).slice(0, 2);
  assert.ok(Number(count) >= 1, `first replies counted: ${count}`);
  assert.match(median, /min|h|d/);
  await axeScan(admin, "the metrics");
  await shot(admin, "staff-metrics");

  step("the admin adds a neighbour, locks and unlocks the account, and invites them");
  await admin.getByRole("link", { name: "Contacts" }).click();
  const invited = `pat.${stamp}@example.com`;
  const newContact = admin.getByRole("form", { name: "New contact" });
  await newContact.getByLabel("Kind").selectOption("resident");
  await newContact.getByLabel("Name").fill("Pat Neighbour");
  await newContact.getByLabel("E-mail").fill(invited);
  await newContact.getByLabel("Property").fill("prop-1");
  await newContact.getByLabel("Unit").fill("103");
  await newContact.getByRole("button", { name: "Create" }).click();
  await newContact.getByText("Pat Neighbour: created.").waitFor();
  const patRow = admin.getByRole("row").filter({ hasText: invited });
  await patRow.getByText("Manage").click();
  await patRow.getByLabel("Reason for locking: Pat Neighbour").fill("Lease not signed yet");
  await patRow.getByRole("button", { name: "Lock: Pat Neighbour" }).click();
  await patRow.getByRole("cell", { name: "Pat Neighbour (locked)" }).waitFor();
  const locked = await api("admin-1", "GET", `/v1/contacts?q=Pat&kind=resident`);
  assert.equal(locked.items.find((c) => c.email === invited)?.lock?.reason, "Lease not signed yet");
  await patRow.getByRole("button", { name: "Unlock: Pat Neighbour" }).click();
  await patRow.getByRole("cell", { name: "Pat Neighbour", exact: true }).waitFor();
  await patRow.getByRole("button", { name: "Invite: Pat Neighbour" }).click();
  await admin.getByText(/^Pat Neighbour: invitation sent; its link works until/).waitFor();
  await axeScan(admin, "the contacts with an admin's tools");

  step("the admin sets read receipts, Saturday hours, the automatic reply and a route; all kept");
  await admin.getByRole("link", { name: "Organization" }).click();
  await admin.getByRole("heading", { name: "Organization", level: 1 }).waitFor();
  const messagingForm = admin.getByRole("form", { name: "Messaging" });
  await messagingForm.getByLabel("Read receipts").selectOption("staff");
  await messagingForm.getByRole("button", { name: "Save" }).click();
  await messagingForm.getByText("Saved.").waitFor();
  const hoursForm = admin.getByRole("form", { name: "Business hours" });
  await hoursForm.getByLabel("Saturday", { exact: true }).check();
  await hoursForm.getByLabel("Saturday From").fill("10:00");
  await hoursForm.getByLabel("Saturday To").fill("14:00");
  await hoursForm.getByLabel("Answer residents who write outside business hours").check();
  await hoursForm.getByLabel("Automatic reply").fill("We are closed; we answer when we open.");
  await hoursForm.getByRole("button", { name: "Save" }).click();
  await hoursForm.getByText("Saved.").waitFor();
  const routingForm = admin.getByRole("form", { name: "Routing" });
  const routesBefore = (await api("admin-1", "GET", "/v1/settings/routing")).routes;
  await routingForm.getByLabel("Goes to: Parking").selectOption({ label: "Billie Books" });
  await routingForm.getByRole("button", { name: "Save" }).click();
  await routingForm.getByText("Saved.").waitFor();
  const routesAfter = (await api("admin-1", "GET", "/v1/settings/routing")).routes;
  assert.deepEqual(routesAfter, { ...routesBefore, parking: { user_id: "bookkeeper-1" } }, "other routes moved");
  await axeScan(admin, "the organization's settings");
  await admin.reload();
  await admin.getByRole("heading", { name: "Organization", level: 1 }).waitFor();
  assert.equal(await messagingForm.getByLabel("Read receipts").inputValue(), "staff");
  assert.equal(await hoursForm.getByLabel("Saturday To").inputValue(), "14:00");
  assert.ok(await hoursForm.getByLabel("Answer residents who write outside business hours").isChecked());
  assert.equal(await routingForm.getByLabel("Goes to: Parking").inputValue(), "user:bookkeeper-1");

  step("the admin creates a newsletter category, names its auditor, schedules a campaign and cancels it");
  const newsletter = `Building newsletter ${stamp}`;
  await admin.getByRole("link", { name: "Categories" }).click();
  await admin.getByRole("button", { name: "New category" }).click();
  const categoryForm = admin.getByRole("form", { name: "New category" });
  await categoryForm.getByLabel("Name").fill(newsletter);
  await categoryForm.getByLabel("Consent").selectOption("opt_in");
  await categoryForm.getByRole("button", { name: "Create" }).click();
  const newsletterRow = admin.getByRole("row").filter({ hasText: newsletter });
  await newsletterRow.getByText("Everyone until they opt out").waitFor();
  await newsletterRow.getByRole("button", { name: `Edit: ${newsletter}` }).click();
  const editForm = admin.getByRole("form", { name: `Edit: ${newsletter}` });
  assert.ok(await editForm.getByLabel("Consent").isDisabled(), "the consent rule can change after creation");
  await editForm.getByLabel(/^Auditors/).selectOption("bookkeeper-1");
  await editForm.getByRole("button", { name: "Save" }).click();
  await newsletterRow.getByText("Billie Books / —").waitFor();
  const stored = (await api("admin-1", "GET", "/v1/categories")).items.find((c) => c.name === newsletter);
  assert.deepEqual([stored.consent, stored.auditors], ["opt_in", ["bookkeeper-1"]]);
  await axeScan(admin, "the categories");
  await admin.getByRole("link", { name: "Campaigns" }).click();
  const campaignForm = admin.getByRole("form", { name: "New campaign" });
  await campaignForm.getByLabel("Category").selectOption({ label: `${newsletter} (Everyone until they opt out)` });
  await campaignForm.getByLabel(/^Properties/).fill("prop-1");
  const news = `Elevator maintenance ${stamp}`;
  await campaignForm.getByLabel("Subject").fill(news);
  await campaignForm.getByLabel("Message").fill("The elevator stops on Monday from 9 to 12.");
  await campaignForm.getByLabel(/^Start at/).fill(tomorrow());
  await campaignForm.getByRole("button", { name: "Create" }).click();
  const campaignRow = admin.getByRole("row").filter({ hasText: news });
  await campaignRow.getByText("Scheduled").waitFor();
  await axeScan(admin, "the campaigns");
  await shot(admin, "admin-campaigns");
  admin.once("dialog", (dialog) => dialog.accept());
  await campaignRow.getByRole("button", { name: `Cancel: Message to residents: ${news}` }).click();
  await campaignRow.getByText("Cancelled").waitFor();

  step("the admin pages Max on emergencies, puts SMS first by default, and adds a webhook that logs its deliveries");
  await admin.getByRole("link", { name: "Triage rules" }).click();
  const rules = admin.getByRole("form", { name: "Triage rules" });
  // What the page does not show must survive its Save (a PUT resets what it leaves out):
  // set through the API first, away from the shipped defaults.
  const shipped = await api("admin-1", "GET", "/v1/settings/triage");
  const custom = {
    ...shipped,
    paths: { ...shipped.paths, parking: { en: ["visitor spot*"], fr: ["place visiteur*"] } },
    routes: { ...shipped.routes, delinquency: "billing" },
    prompts: { ...shipped.prompts, unit: { en: "Which apartment, please?", fr: "Quel appartement, s'il vous plaît ?" } },
  };
  await api("admin-1", "PUT", "/v1/settings/triage", custom);
  await admin.reload();
  await rules.getByLabel(/^On call/).selectOption("maint-1");
  await rules.getByLabel(/^Escalate again/).fill("20");
  await rules.getByRole("button", { name: "Save" }).click();
  await rules.getByText("Saved.").waitFor();
  const triageAfter = await api("admin-1", "GET", "/v1/settings/triage");
  assert.deepEqual([triageAfter.on_call, triageAfter.ack_minutes], [["maint-1"], 20]);
  for (const kept of ["escalations", "paths", "routes", "prompts", "safety_notice", "cold_emergencies"]) {
    assert.deepEqual(triageAfter[kept], custom[kept], `saving the rules changed ${kept}`);
  }
  await axeScan(admin, "the triage rules");
  await admin.getByRole("link", { name: "General" }).click();
  const defaults = admin.getByRole("form", { name: "Default channels" });
  await defaults.getByLabel("Channel 1").selectOption("sms");
  await defaults.getByLabel("Channel 2").selectOption("email");
  await defaults.getByRole("button", { name: "Save" }).click();
  await defaults.getByText("Saved.").waitFor();
  assert.deepEqual((await api("admin-1", "GET", "/v1/settings/notifications")).default_channels, ["sms", "email"]);
  await admin.getByRole("link", { name: "Webhooks" }).click();
  // Nothing listens there: each delivery is logged with its failed attempt.
  const hookUrl = `http://127.0.0.1:9/hooks/${stamp}`;
  const hookForm = admin.getByRole("form", { name: "New webhook" });
  await hookForm.getByLabel("Address (https)").fill(hookUrl);
  await hookForm.getByRole("button", { name: "Create" }).click();
  await admin.getByText(/^whsec_/).waitFor();
  await api("resident-2", "POST", "/v1/threads", { topic: "general", subject: `Hello ${stamp}`, body: "Is the gym open on Sunday?" });
  const hook = admin.getByRole("listitem").filter({ hasText: hookUrl });
  const logged = hook.getByRole("cell", { name: "thread.created" });
  for (let tries = 0; tries < 20 && !(await logged.count()); tries += 1) {
    await hook.getByRole("button", { name: `Deliveries: ${hookUrl}` }).click();
    await admin.waitForTimeout(250);
  }
  await logged.first().waitFor();
  await axeScan(admin, "the webhooks");
  admin.once("dialog", (dialog) => dialog.accept());
  await hook.getByRole("button", { name: `Delete: ${hookUrl}` }).click();
  await hook.waitFor({ state: "detached" });
  assert.equal((await api("admin-1", "GET", "/v1/webhooks")).items.filter((w) => w.url === hookUrl).length, 0);

  step("the admin corrects Pat's phone and records the consent Pat gave by phone, with its evidence");
  await admin.getByRole("link", { name: "Contacts" }).click();
  await admin.getByRole("search", { name: "Contacts" }).getByLabel("Name").fill("Pat");
  await admin.getByRole("search", { name: "Contacts" }).getByRole("button", { name: "Search" }).click();
  await admin.getByRole("link", { name: "Pat Neighbour" }).click();
  await admin.getByRole("heading", { name: "Pat Neighbour", level: 1 }).waitFor();
  const details = admin.getByRole("form", { name: "Details" });
  await details.getByLabel("Phone").fill("+15145550123");
  await details.getByRole("button", { name: "Save" }).click();
  await details.getByText("Saved.").waitFor();
  const consentForm = admin.getByRole("form", { name: "Record a consent" });
  await consentForm.getByLabel("Category").selectOption({ label: newsletter });
  await consentForm.getByLabel("Decision").selectOption("false");
  await consentForm.getByLabel("Evidence").fill(`Pat asked by phone on ${new Date().toISOString().slice(0, 10)} to stop the newsletter.`);
  await consentForm.getByRole("button", { name: "Record" }).click();
  await consentForm.getByText("Saved.").waitFor();
  const ledgerRow = admin.getByRole("table", { name: /^Every change/ }).getByRole("row").filter({ hasText: "recorded by an admin" });
  await ledgerRow.getByText("Pat asked by phone").waitFor();
  await axeScan(admin, "a contact with its consents");
  const pat = (await api("admin-1", "GET", "/v1/contacts?q=Pat&kind=resident")).items.find((c) => c.email === invited);
  assert.equal(pat.phone, "+15145550123");
  const patConsents = await api("admin-1", "GET", `/v1/contacts/${pat.id}/consents`);
  assert.equal(patConsents.items.find((c) => c.name === newsletter)?.subscribed, false, "the recorded withdrawal did not take");

  step("at a phone's width the admin's pages do not run off the side (wide tables scroll in their box)");
  await admin.setViewportSize({ width: 375, height: 740 });
  for (const [hash, heading] of [["#/contacts", "Contacts"], ["#/organization/campaigns", "Organization"], ["#/metrics", "Metrics"]]) {
    await admin.goto(`${BASE}/${hash}`);
    await admin.getByRole("heading", { name: heading, level: 1 }).waitFor();
    const wider = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wider <= 0, `${hash} is ${wider}px wider than a phone`);
  }
  await admin.setViewportSize({ width: 1200, height: 900 });
  await signOut(admin);

  step("the resident sees the linked invoice and the saved reply, not the scheduled message");
  await signIn(admin, "resident-1");
  await admin.goto(threadUrl);
  await admin.getByText("Invoice INV-42 · Plumbing repair").waitFor();
  await admin.getByText("Hi Rita, the plumber comes to unit 101.").waitFor();
  assert.equal(await admin.getByText("Did the plumber fix the leak?").count(), 0, "the scheduled message showed early");

  step("the resident adds a WhatsApp channel and opts out of a newsletter; both are kept");
  await admin.getByRole("link", { name: "Settings" }).click();
  await admin.getByRole("heading", { name: "Settings" }).waitFor();
  const consent = admin.getByLabel(`Receive ${newsletter}`);
  assert.ok(await consent.isChecked(), "an opt-in category starts subscribed");
  await consent.uncheck();
  await admin.getByRole("region", { name: "What you receive" }).getByText("Saved.").waitFor();
  const reach = admin.getByRole("form", { name: "How we reach you" });
  await reach.getByRole("button", { name: "Add a channel" }).click();
  await reach.getByLabel("Channel").last().selectOption("whatsapp");
  await reach.getByLabel("Address or number").last().fill("+15145550101");
  await reach.getByRole("button", { name: "Save" }).click();
  await reach.getByText("Saved.").waitFor();
  await axeScan(admin, "the resident's settings");
  await shot(admin, "resident-settings");
  await admin.reload();
  await admin.getByRole("heading", { name: "Settings" }).waitFor();
  assert.equal(await reach.getByLabel("Address or number").last().inputValue(), "+15145550101");
  assert.equal(await admin.getByLabel(`Receive ${newsletter}`).isChecked(), false, "the opt-out was not kept");

  step("the link of the resident's notification e-mail opens the page it names");
  const notified = await linkIn("resident-1@demo.example.com", "/threads");
  assert.ok(notified, "no notification e-mail with a link");
  await admin.goto(notified);
  if (/\/threads\/\w+/.test(notified)) {
    await admin.locator(".thread-head h1").waitFor();
    assert.match(admin.url(), /#\/thread\/\w+$/);
  } else {
    await admin.getByRole("heading", { name: "Messages" }).waitFor();
  }
  await office.close();

  step("an invited neighbour opens the link of the invitation e-mail and chooses a password");
  let invitation = null;
  for (let tries = 0; tries < 50 && !invitation; tries += 1) {
    invitation = await linkIn(invited, "/invite");
    if (!invitation) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(invitation, "no invitation e-mail");
  const newcomer = await browser.newContext({ locale: "en-CA" });
  newcomer.setDefaultTimeout(TIMEOUT);
  const welcome = await newcomer.newPage();
  await welcome.goto(invitation);
  await welcome.getByRole("heading", { name: "Set up your account" }).waitFor();
  assert.ok(!welcome.url().includes("token="), `the token stayed in the address bar: ${welcome.url()}`);
  await welcome.getByLabel("Password", { exact: true }).fill("Plumbing-Leak-2026!");
  await welcome.getByLabel("Password again").fill("Plumbing-Leak-2026!");
  await welcome.getByRole("button", { name: "Create my account" }).click();
  await welcome.getByRole("heading", { name: "Your account is ready" }).waitFor();
  await axeScan(welcome, "the invitation");
  await newcomer.close();

  step("in French");
  const fr = await browser.newContext({ locale: "fr-CA" });
  fr.setDefaultTimeout(TIMEOUT);
  const frPage = await fr.newPage();
  await signIn(frPage, "resident-1");
  await frPage.getByRole("button", { name: "Nouvelle conversation" }).click();
  await frPage.getByLabel("Sujet", { exact: true }).waitFor();
  await frPage.getByRole("button", { name: "Envoyer" }).waitFor();
  await signOut(frPage);
  await signIn(frPage, "admin-1");
  for (const folder of ["Non lus", "Ouverts", "Résolus", "Archivés"]) {
    await frPage.getByRole("navigation").getByRole("link", { name: folder }).waitFor();
  }
  await axeScan(frPage, "the French staff inbox");
  await fr.close();

  step("signing in through the identity provider (code with PKCE), an expired token renewed unseen, signing out");
  const idp = await browser.newContext({ locale: "en-CA" });
  idp.setDefaultTimeout(TIMEOUT);
  const idpPage = await idp.newPage();
  await idpPage.goto(BASE);
  await idpPage.getByRole("button", { name: "Sign in with your account" }).click();
  await idpPage.getByRole("heading", { name: "Sign in (local identity provider)" }).waitFor();
  await idpPage.getByLabel("Account").selectOption("maint-1");
  await idpPage.getByRole("button", { name: "Continue" }).click();
  await idpPage.getByRole("heading", { name: "Messages" }).waitFor();
  await idpPage.getByText("Max Maintenance").waitFor();
  assert.ok(!idpPage.url().includes("code="), `the code stayed in the address bar: ${idpPage.url()}`);
  await idpPage.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem("session"));
    sessionStorage.setItem("session", JSON.stringify({ ...session, token: "expired" }));
  });
  await idpPage.reload();
  // Listed (a row, or "No conversations here"): the API answered the renewed token.
  await idpPage.locator("ul.threads li").first().waitFor();
  const renewed = await idpPage.evaluate(() => JSON.parse(sessionStorage.getItem("session")).token);
  assert.notEqual(renewed, "expired", "the token was not renewed");
  await signOut(idpPage);
  await idpPage.getByRole("button", { name: "Sign in with your account" }).waitFor();
  assert.equal(await idpPage.evaluate(() => sessionStorage.getItem("session")), null, "signed out, the session stayed");
  await idp.close();

  step("the JavaScript a first load fetches, gzipped");
  const js = readdirSync(DIST).filter((f) => f.endsWith(".js"));
  const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(new URL(f, DIST))).length, 0);
  console.log(`browser: JavaScript ${gzipped} bytes gzipped`);
  assert.ok(gzipped < 150 * 1024, `JavaScript is ${gzipped} bytes gzipped`);
  console.log("browser: all passed");
} catch (err) {
  // What the pages said when it failed: their alerts name the API's refusal.
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      const alerts = await page.locator('[role="alert"]').allTextContents().catch(() => []);
      console.log(`browser: at ${page.url()}: ${alerts.filter(Boolean).join(" | ") || "no alert shown"}`);
      const shown = await page.locator("main").innerText({ timeout: 1000 }).catch(() => "");
      console.log(`browser: the page showed: ${shown.slice(0, 600).replace(/\s+/g, " ")}`);
    }
  }
  throw err;
} finally {
  await browser.close();
}
