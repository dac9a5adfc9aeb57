// The web console in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser). It clicks through what a person would: the overview, creating a topic,
// producing a message and browsing it, and resetting a consumer group's offsets, and checks what
// the page then shows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import type { Broker } from "../../src/broker/broker.ts";
import { startHttpBroker } from "../helpers/http.ts";
import { quietKafka } from "../helpers/kafkajs.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const CHROMIUM = "/usr/bin/chromium";
const have = existsSync(CHROMIUM);
if (!have) {
  console.warn(`console_test: ${CHROMIUM} is missing (apt-get install chromium); the browser tests are skipped`);
}

let broker: Broker & { lines: string[] };
let base: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!have) return;
  // An authorizer with the anonymous principal as super user: the ACL page can add ACLs.
  ({ broker, base } = await startHttpBroker({
    "group.initial.rebalance.delay.ms": 0,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
  }));
  // A group with committed offsets and no members, for the reset.
  const kafka = quietKafka(broker.port, "ui");
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "orders", messages: [1, 2, 3, 4].map((n) => ({ value: `o${n}` })) });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({ groupId: "billing", topic: "orders", partitions: [{ partition: 0, offset: "4" }] });
  await admin.disconnect();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, 60_000);
afterAll(async () => {
  if (!have) return;
  await browser?.close();
  await broker.close();
});

describe.skipIf(!have)("web console (Chromium)", () => {
  test("the overview shows the cluster and a live chart", async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe("/ui/");
    await page.getByRole("heading", { name: "Cluster overview" }).waitFor();
    expect(await page.getByText(broker.services.clusterId).count()).toBeGreaterThan(0);
    await page.locator("#rates polyline").first().waitFor({ state: "attached", timeout: 10_000 });
    expect(await page.locator("#rates-now").textContent()).toContain("produce");
  }, 30_000);

  test("create a topic, produce a message and browse it", async () => {
    await page.getByRole("link", { name: "Topics" }).click();
    const create = page.getByRole("form", { name: "Create a topic" });
    await create.getByLabel("Name", { exact: true }).fill("ui-topic");
    await create.getByLabel("Partitions", { exact: true }).fill("2");
    await page.getByRole("button", { name: "Create topic" }).click();
    await page.getByRole("link", { name: "ui-topic" }).click();
    await page.getByRole("heading", { name: "Topic ui-topic" }).waitFor();
    expect(await page.locator("table").first().locator("tbody tr").count()).toBe(2);
    const produce = page.locator('form[data-kind="produce"]');
    await produce.locator('select[name="partition"]').selectOption("1");
    await produce.getByLabel("Key", { exact: true }).fill("k1");
    await produce.getByLabel("Value", { exact: true }).fill('{"hello":"console"}');
    await produce.getByRole("button", { name: "Produce" }).click();
    await page.getByRole("status").getByText("Produced to partition 1 at offset 0.").waitFor();
    const browse = page.locator("#browse");
    await browse.locator('select[name="partition"]').selectOption("1");
    await browse.locator('select[name="as"]').selectOption("json");
    await browse.getByRole("button", { name: "Show messages" }).click();
    const row = page.locator("#messages tbody tr").first();
    await row.waitFor();
    expect(await row.locator("td").nth(2).textContent()).toBe("k1");
    expect(JSON.parse((await row.locator("td").nth(3).textContent())!)).toEqual({ hello: "console" });
    await page.screenshot({ path: `${process.env.TMPDIR ?? "/tmp"}/chronik-console-topic.png`, fullPage: true });
  }, 30_000);

  test("reset a consumer group's offsets to earliest", async () => {
    await page.goto(`${base}/ui/groups`);
    await page.getByRole("link", { name: "billing" }).click();
    await page.getByRole("heading", { name: "Group billing" }).waitFor();
    const committed = () => page.locator("table").nth(1).locator("tbody tr").first().locator("td").nth(2).textContent();
    expect(await committed()).toBe("4");
    await page.locator('select[name="to"]').selectOption("earliest");
    await page.getByRole("button", { name: "Reset offsets" }).click();
    await page.waitForLoadState("load");
    for (let i = 0; i < 50 && (await committed()) !== "0"; i++) await page.waitForTimeout(100);
    expect(await committed()).toBe("0");
    const lag = await page.locator("table").nth(1).locator("tbody tr").first().locator("td").nth(4).textContent();
    expect(lag).toBe("4");
  }, 30_000);

  test("add and delete an ACL, a SCRAM user and a client quota", async () => {
    page.on("dialog", (d) => void d.accept());
    const svc = broker.services;
    await page.goto(`${base}/ui/acls`);
    const acl = page.getByRole("form", { name: "Add an ACL" });
    await acl.getByLabel("Resource").selectOption("TOPIC");
    await acl.getByLabel("Name").fill("orders");
    await acl.getByLabel("Pattern").selectOption("PREFIXED");
    await acl.getByLabel("Principal").fill("User:alice");
    await acl.getByLabel("Operation").selectOption("WRITE");
    await acl.getByRole("button", { name: "Add ACL" }).click();
    const aclRow = page.locator("tbody tr", { hasText: "User:alice" });
    await aclRow.waitFor();
    expect(await aclRow.locator("td").allTextContents()).toEqual(
      expect.arrayContaining(["TOPIC", "orders", "PREFIXED", "User:alice", "*", "WRITE", "ALLOW"]),
    );
    expect(svc.acls.list().map((b) => b.principal)).toEqual(["User:alice"]);
    await aclRow.getByRole("button", { name: /^Delete/ }).click();
    await aclRow.waitFor({ state: "detached" });
    expect(svc.acls.list()).toEqual([]);

    await page.goto(`${base}/ui/users`);
    const user = page.getByRole("form", { name: "Add a user or change a password" });
    await user.getByLabel("User").fill("dora");
    await user.getByLabel("Password").fill("dora-secret");
    await user.getByLabel("Mechanism").selectOption("SCRAM-SHA-512");
    await user.getByRole("button", { name: "Save user" }).click();
    const userRow = page.locator("tbody tr", { hasText: "dora" });
    await userRow.waitFor();
    expect(await userRow.locator("td").allTextContents()).toEqual(
      expect.arrayContaining(["dora", "SCRAM-SHA-512", "4096"]),
    );
    expect(svc.auth.scram.has("dora", "SCRAM-SHA-512")).toBe(true);
    await userRow.getByRole("button", { name: /^Delete/ }).click();
    await userRow.waitFor({ state: "detached" });
    expect(svc.auth.scram.has("dora", "SCRAM-SHA-512")).toBe(false);

    await page.goto(`${base}/ui/quotas`);
    const quota = page.getByRole("form", { name: "Set a quota" });
    await quota.getByLabel("Entity").selectOption("client-id");
    await quota.getByLabel("Name (empty: the default)").fill("etl");
    await quota.getByLabel("Quota").selectOption("producer_byte_rate");
    await quota.getByLabel("Value").fill("1048576");
    await quota.getByRole("button", { name: "Set quota" }).click();
    const quotaRow = page.locator("tbody tr", { hasText: "client-id=etl" });
    await quotaRow.waitFor();
    expect(await quotaRow.locator("td").allTextContents()).toEqual(
      expect.arrayContaining(["producer_byte_rate", "1048576"]),
    );
    expect(svc.quotas.snapshot()).toEqual([{
      entity: [{ entityType: "client-id", entityName: "etl" }],
      values: { producer_byte_rate: 1048576 },
    }]);
    // A value Kafka refuses is refused with its message.
    await quota.getByLabel("Value").fill("1.5");
    await quota.getByRole("button", { name: "Set quota" }).click();
    await page.getByRole("status").getByText("producer_byte_rate cannot be a fractional value.").waitFor();
    await quotaRow.getByRole("button", { name: /^Delete/ }).click();
    await quotaRow.waitFor({ state: "detached" });
    expect(svc.quotas.snapshot()).toEqual([]);
    await page.screenshot({ path: `${process.env.TMPDIR ?? "/tmp"}/chronik-console-quotas.png`, fullPage: true });
  }, 30_000);
});
