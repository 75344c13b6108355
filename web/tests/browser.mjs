// The web client in a real browser (Debian's chromium, driven by playwright-core) against
// a running local stack at BASE_URL: a resident starts a conversation and attaches a
// photo; staff see it in Unread, reply, add an internal note and resolve; the resident
// sees the reply (not the note) and re-opens it; the French labels; an accessibility scan
// of each view; the phone width; the size of the JavaScript. Exits non-zero on the first
// failure. SCREENSHOTS=dir writes a screenshot of each view there.

import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";
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
  await page.addScriptTag({ content: AXE });
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
  const subject = `Leak under the sink ${Date.now()}`;

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

  step("the JavaScript a first load fetches, gzipped");
  const js = readdirSync(DIST).filter((f) => f.endsWith(".js"));
  const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(new URL(f, DIST))).length, 0);
  console.log(`browser: JavaScript ${gzipped} bytes gzipped`);
  assert.ok(gzipped < 150 * 1024, `JavaScript is ${gzipped} bytes gzipped`);
  console.log("browser: all passed");
} finally {
  await browser.close();
}
