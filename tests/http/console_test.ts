// The web console in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser). It clicks through what a person would: the overview, creating a topic,
// producing a message and browsing it, and resetting a consumer group's offsets, and checks what
// the page then shows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { type Browser, chromium, type Page } from "playwright-core";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { httpBase } from "../helpers/http.ts";

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
  broker = await testBroker({ "chronik.http.port": 0, "group.initial.rebalance.delay.ms": 0 });
  base = await httpBase(() => broker.lines.join("\n"));
  // A group with committed offsets and no members, for the reset.
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "ui", logLevel: logLevel.NOTHING });
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
});
