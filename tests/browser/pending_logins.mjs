// Pending logins survive a real browser, which enforces the 4,096-byte cookie limit (a larger
// cookie is silently dropped): in a browser already logged in, 20 tabs each start a login with a
// `next` at the 512-byte cap, the home page is reloaded ten times, and the session cookie stays
// under 3,600 bytes (the module's budget, leaving room for the host app's own keys) and the
// newest logins finish. Then: a Universal Login in flight, ten home-page reloads (each a Lock
// transaction) in another tab, and the login completes.
//
// Usage: node pending_logins.mjs <app-url> <screenshot-dir>
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [appUrl, shotDir] = process.argv.slice(2);
if (!appUrl || !shotDir) {
  console.error("usage: node pending_logins.mjs <app-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shotDir, { recursive: true });
const app = new URL(appUrl);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});

let step = "start";
let current = null;
const serverErrors = [];
let passed = 0;
function log(message) {
  console.log(`[browser] ${message}`);
}
function watch(page) {
  page.on("response", (response) => {
    if (response.status() >= 500) serverErrors.push(`${response.status()} ${response.url()}`);
  });
  return page;
}
async function sessionCookieBytes(context) {
  const cookies = await context.cookies(app.href);
  const session = cookies.find((c) => c.name.endsWith("auth0_session"));
  return session ? session.name.length + 1 + session.value.length : 0;
}
async function finishAtTenant(page, email) {
  await page.fill("input#email", email);
  await page.fill("input#password", "any password");
  await Promise.all([
    page.waitForURL((url) => url.origin === app.origin && url.pathname !== "/callback"),
    page.click("button[value=login]"),
  ]);
}

try {
  step = "logged-in-first";
  const context = await browser.newContext();
  const first = watch(await context.newPage());
  current = first;
  await first.goto(new URL("/login", app).href);
  await finishAtTenant(first, "tabs.user@example.com");
  if (new URL(first.url()).pathname !== "/profile") throw new Error(`landed on ${first.url()}`);

  step = "twenty-tabs-with-long-next";
  // `/profile?tab=NN&pad=` and the pad: 512 bytes, the longest `next` kept.
  const nextOf = (i) => {
    const head = `/profile?tab=${String(i).padStart(2, "0")}&pad=`;
    return head + "p".repeat(512 - head.length);
  };
  const tabs = [];
  for (let i = 0; i < 20; i++) {
    const tab = watch(await context.newPage());
    current = tab;
    const login = new URL("/login", app);
    login.searchParams.set("next", nextOf(i));
    const response = await tab.goto(login.href);
    if (!response.ok()) throw new Error(`tab ${i}: /login led to ${response.status()}`);
    await tab.waitForSelector("form input#email");
    tabs.push(tab);
  }
  const home = watch(await context.newPage());
  current = home;
  for (let i = 0; i < 10; i++) {
    const response = await home.goto(app.href);
    if (!response.ok()) throw new Error(`home reload ${i}: ${response.status()}`);
  }
  const bytes = await sessionCookieBytes(context);
  if (bytes === 0 || bytes >= 3600) throw new Error(`the session cookie is ${bytes} bytes`);
  log(`logged in, 20 tabs with 512-byte next values, 10 home reloads: cookie ${bytes} bytes, no 5xx`);
  passed++;

  step = "the-newest-tabs-finish";
  current = tabs[19];
  await finishAtTenant(tabs[19], "tabs.user@example.com");
  const landed = new URL(tabs[19].url());
  if (landed.pathname !== "/profile" || !landed.search.includes("tab=19&")) {
    throw new Error(`the last tab landed on ${landed.href}`);
  }
  current = tabs[18];
  await finishAtTenant(tabs[18], "tabs.user@example.com");
  if (!new URL(tabs[18].url()).search.includes("tab=18&")) {
    throw new Error(`the tab before landed on ${tabs[18].url()}`);
  }
  log("the two newest tabs finish their logins and land on their own next");
  passed++;
  await context.close();

  step = "lock-reloads-keep-a-universal-login";
  const second = await browser.newContext();
  const login = watch(await second.newPage());
  current = login;
  await login.goto(new URL("/login", app).href);
  await login.waitForSelector("form input#email");
  const reloads = watch(await second.newPage());
  current = reloads;
  for (let i = 0; i < 10; i++) await reloads.goto(app.href);
  current = login;
  await finishAtTenant(login, "inflight.user@example.com");
  if (new URL(login.url()).pathname !== "/profile") {
    throw new Error(`the login in flight ended on ${login.url()}: ${await login.textContent("main")}`);
  }
  log("a Universal Login in flight survives ten home-page reloads in another tab");
  passed++;

  if (serverErrors.length) throw new Error(`server errors: ${serverErrors.join(", ")}`);
  await browser.close();
  console.log(`[browser] ${passed} passed, 0 failed`);
} catch (error) {
  console.error(`[browser] FAILED at step ${step}: ${error.message}`);
  try {
    if (current) await current.screenshot({ path: path.join(shotDir, `failure-${step}.png`) });
  } catch {}
  await browser.close();
  process.exit(1);
}
