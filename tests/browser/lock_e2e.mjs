// Drives headless Chromium against the running app (dev tenant): log in through the embedded
// Lock widget, log out, sign up through its Sign Up tab, log in through Universal Login, sign
// another browser out from the sessions list, log out. Saves a screenshot of each step
// (and of the failure, if any) to SCREENSHOT_DIR. Fails if any request leaves loopback.
//
// Usage: node lock_e2e.mjs <app-url> <screenshot-dir>
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [appUrl, shotDir] = process.argv.slice(2);
if (!appUrl || !shotDir) {
  console.error("usage: node lock_e2e.mjs <app-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shotDir, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const app = new URL(appUrl);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});
const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
const page = await context.newPage();

const offMachine = [];
page.on("request", (request) => {
  const url = new URL(request.url());
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (!local && !url.protocol.startsWith("data") && url.protocol !== "about:") {
    offMachine.push(request.url());
  }
});
const consoleErrors = [];
page.on("console", (msg) => {
  if (msg.type() === "error") consoleErrors.push(msg.text());
});

let step = "start";
async function shot(name) {
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: true });
}
function log(message) {
  console.log(`[browser] ${message}`);
}

async function logOut() {
  await page.goto(new URL("/logout", app).href);
  await Promise.all([page.waitForURL((url) => url.pathname === "/"), page.click("#logout")]);
  await page.waitForSelector("#anonymous");
}

try {
  step = "home-with-lock";
  await page.goto(app.href);
  await page.waitForSelector("#lock input[name=email]", { timeout: 20000 });
  await page.waitForSelector("#lock input[name=password]");
  await shot("home-lock");
  log("the home page shows the Lock widget");

  step = "lock-login";
  await page.fill("#lock input[name=email]", "lock.user@example.com");
  await page.fill("#lock input[name=password]", "any password");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/profile", { timeout: 20000 }),
    page.click("#lock button[type=submit]"),
  ]);
  const profileText = await page.textContent("#profile");
  if (!profileText.includes("lock.user@example.com")) {
    throw new Error(`the profile page does not show the user: ${profileText}`);
  }
  await shot("profile");
  log("logging in through Lock lands on /profile showing that user");

  step = "logout-after-lock";
  await logOut();
  await shot("logged-out");
  log("logout returns to an anonymous home page");

  step = "lock-signup";
  // Lock's Sign Up tab: a new user is created at the tenant, then logged in.
  await page.waitForSelector("#lock input[name=email]", { timeout: 20000 });
  await page.click("#lock .auth0-lock-tabs >> text=Sign Up");
  await page.waitForSelector("#lock .auth0-lock-tabs-current >> text=Sign Up");
  await page.fill("#lock input[name=email]", "lock.signup@example.com");
  await page.fill("#lock input[name=password]", "any password");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/profile", { timeout: 20000 }),
    page.click("#lock button[type=submit]"),
  ]);
  const signupText = await page.textContent("#profile");
  if (!signupText.includes("lock.signup@example.com")) {
    throw new Error(`the profile page does not show the new user: ${signupText}`);
  }
  log("signing up through Lock's Sign Up tab lands on /profile as the new user");
  await logOut();

  step = "universal-login";
  await page.click("#login");
  await page.waitForSelector("form input#email");
  await shot("universal-login-form");
  await page.fill("input#email", "universal.user@example.com");
  await page.fill("input#password", "any password");
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/profile"),
    page.click("button[value=login]"),
  ]);
  const universalText = await page.textContent("#profile");
  if (!universalText.includes("universal.user@example.com")) {
    throw new Error(`the profile page does not show the user: ${universalText}`);
  }
  log("the Universal Login button path works too");

  step = "sessions-page";
  // The same user in a second browser (its own cookies), then "Sign out of all other sessions".
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(new URL("/login", app).href);
  await otherPage.waitForSelector("form input#email");
  await otherPage.fill("input#email", "universal.user@example.com");
  await otherPage.fill("input#password", "any password");
  await Promise.all([
    otherPage.waitForURL((url) => url.pathname === "/profile"),
    otherPage.click("button[value=login]"),
  ]);
  await page.goto(new URL("/profile", app).href);
  const listed = await page.locator("#sessions li.session").count();
  const current = await page.textContent("#sessions li.session.current");
  if (listed !== 2 || !current.includes("this session") || !current.includes("Headless Chrome")) {
    throw new Error(`the sessions list is wrong: ${listed} listed, current: ${current}`);
  }
  await page.locator("#sessions").screenshot({ path: path.join(shotDir, "sessions.png") });
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/profile" && url.hash === "#sessions"),
    page.click("#end-other-sessions button"),
  ]);
  const left = await page.locator("#sessions li.session").count();
  if (left !== 1) throw new Error(`${left} sessions left after signing out the others`);
  await otherPage.goto(new URL("/profile", app).href);
  if (new URL(otherPage.url()).pathname === "/profile") {
    throw new Error("the other browser is still logged in");
  }
  await other.close();
  log("the sessions list signs the other browser out");

  step = "logout-after-universal-login";
  await logOut();
  log("and logout again");

  if (offMachine.length > 0) {
    step = "network";
    throw new Error(`requests left the machine: ${offMachine.join(", ")}`);
  }
  log("no request left loopback");
  await browser.close();
  console.log("[browser] 6 passed, 0 failed");
} catch (error) {
  console.error(`[browser] FAILED at step ${step}: ${error.message}`);
  if (consoleErrors.length) console.error(`[browser] console errors:\n  ${consoleErrors.join("\n  ")}`);
  try {
    await shot(`failure-${step}`);
    console.error(`[browser] screenshot: ${path.join(shotDir, `failure-${step}.png`)}`);
  } catch {}
  await browser.close();
  process.exit(1);
}
