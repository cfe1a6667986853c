/**
 * The web console in a real browser: Debian's chromium driven by playwright-core against the embedded
 * platform. Signs in, uploads demo clips and watches them index, searches one of their captions and
 * plays the hit from its start, asks and captions, sees a camera segment arrive live, checks that a
 * read key sees no upload or delete controls, and runs axe-core on every page (no serious or critical
 * violation), at desktop width and at 390 px. The screenshots in docs/ (shown in the README) are taken
 * here.
 */
import 'reflect-metadata';

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/core/config.js';
import { CONSOLE_DIR } from '../../src/core/gateway/console-route.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { readDemoLibrary } from '../../src/core/ingest/demo-library.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { makeSourceFile } from '../helpers/camera.js';
import { tempDir } from '../helpers/fixtures.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import { gatewayClient } from '../helpers/gateway-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
const LIBRARY = path.join(ROOT, 'examples/demo-library/library.json');
/**
 * Where the screenshots go: docs/ (shown in the README) with UPDATE_SCREENSHOTS=1, else a temporary
 * folder, so a test run leaves the working tree as it found it.
 */
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
/** Debian's chromium (infra/system-packages.sh installs it); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Demo clips joined into the uploaded video: 4 clips of 3 s, one segment each (HBI_SEGMENT_WINDOW_MS). */
const CLIPS = 4;
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

type Json = Record<string, any>;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

describe('the web console in chromium', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  /** CSP violations and uncaught page errors, per page: there must be none. */
  const pageProblems: string[] = [];
  /** The uploaded video's title (the file's name without extension). */
  const TITLE = 'demo-reel';

  beforeAll(async () => {
    // The console is built by `npm run build`; build it here when this checkout has not been.
    if (!existsSync(path.join(CONSOLE_DIR, 'index.html'))) {
      await promisify(execFile)('npx', ['--no-install', 'vite', 'build', '--config', 'web/vite.config.ts'], {
        cwd: ROOT,
      });
    }
    temp = await tempDir('hbi-e2e-console-');
    const config = loadConfig({
      HBI_MODEL_DIR: MODEL,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      // One segment per demo clip, so each hit is one clip and the later ones start past 0.
      HBI_SEGMENT_WINDOW_MS: '3000',
      HBI_SEGMENT_OVERLAP_MS: '0',
      HBI_RATE_KEY_COST_PER_MINUTE: '0',
      HBI_RATE_TENANT_COST_PER_MINUTE: '0',
      HBI_RATE_ANONYMOUS_COST_PER_MINUTE: '0',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
    base = platform.gateway.url.replace(/\/graphql$/, '');
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no browser at ${CHROMIUM}: run 'bash infra/system-packages.sh install' (Debian's chromium) or set CHROMIUM_PATH`,
      );
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Root in containers needs --no-sandbox; muted videos may play without a gesture anyway.
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    });
    context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    page = await watchedPage(context);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await temp?.cleanup();
  });

  async function watchedPage(from: BrowserContext): Promise<Page> {
    const opened = await from.newPage();
    opened.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(message.text());
    });
    opened.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
    return opened;
  }

  /** axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does not govern). */
  async function seriousViolations(on: Page = page): Promise<Violation[]> {
    if (!(await on.evaluate('typeof window.axe !== "undefined"'))) await on.evaluate(await AXE_SOURCE);
    const violations = await on.evaluate<
      Violation[]
    >(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
      result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`);
    return violations.filter(
      (violation) => violation.impact === 'serious' || violation.impact === 'critical',
    );
  }

  /** Follows a link of the navigation (a client-side route change). */
  async function open(label: string, heading: string | RegExp, on: Page = page): Promise<void> {
    await on
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: label, exact: true })
      .click();
    await on.getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  async function screenshot(name: string): Promise<void> {
    await page.evaluate('window.scrollTo(0, 0)');
    const file = path.join(UPDATE_SCREENSHOTS ? path.join(ROOT, 'docs') : temp.dir, `console-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    // Small enough to commit: the README shows them.
    expect((await stat(file)).size).toBeLessThan(300_000);
  }

  it('signs in with a key, and refuses a wrong one with what to do', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'hbi console' }).waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.getByLabel('API key').fill('hbik_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/UNAUTHENTICATED.*Sign in again with a valid API key/);
    await page.getByLabel('API key').fill(platform.adminKey!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Search' }).waitFor();
    expect(await page.getByText('admin key').isVisible()).toBe(true);
    expect(await seriousViolations()).toEqual([]);
  });

  it('uploads demo clips (byte progress, then the job live) and they reach indexed', async () => {
    const file = await makeSourceFile(temp.dir, CLIPS);
    const named = path.join(temp.dir, `${TITLE}.mp4`);
    await promisify(execFile)('cp', [file, named]);
    await open('Upload', 'Upload');
    expect(await seriousViolations()).toEqual([]);
    await page.getByLabel('Choose videos').setInputFiles(named);
    const status = page
      .getByTestId('upload-row')
      .filter({ hasText: `${TITLE}.mp4` })
      .getByTestId('upload-status');
    await expect.poll(() => status.textContent(), { timeout: 120_000 }).toMatch(/succeeded .*\(100%\)/);
    expect(await status.textContent()).toContain(`${CLIPS}/${CLIPS} segments`);
    // Dropped on the drop zone: a file the page builds from a demo clip's bytes, as a drag from the desktop.
    const clip = [...(await readFile(path.join(ROOT, 'examples/demo-library/clips/test-000007.mp4')))];
    const dropped = await page.evaluateHandle((bytes: number[]) => {
      const transfer = new (globalThis as any).DataTransfer();
      transfer.items.add(
        new (globalThis as any).File([new Uint8Array(bytes)], 'dropped.mp4', { type: 'video/mp4' }),
      );
      return transfer;
    }, clip);
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: dropped });
    const droppedStatus = page
      .getByTestId('upload-row')
      .filter({ hasText: 'dropped.mp4' })
      .getByTestId('upload-status');
    await expect
      .poll(() => droppedStatus.textContent(), { timeout: 120_000 })
      .toMatch(/succeeded .*\(100%\)/);
    expect(await seriousViolations()).toEqual([]);
    await screenshot('upload');

    await open('Library', 'Library');
    const row = page.getByTestId('video-row').filter({ hasText: TITLE });
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toMatch(/indexed/);
    expect(await row.getByRole('button', { name: 'Delete' }).isVisible()).toBe(true);
    expect(await seriousViolations()).toEqual([]);
  });

  it("finds the video by one of its clips' captions, with its thumbnail first, and plays the hit from its start", async () => {
    const library = await readDemoLibrary(LIBRARY);
    const caption = library.clips[0]!.captions[0]!;
    await open('Search', 'Search');
    await page.getByLabel('What happens in the video').fill(caption);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const hits = page.getByTestId('hit');
    await hits.first().waitFor();
    // Every segment of the two uploads matches somewhat; the clip's own video comes first.
    expect(await hits.count()).toBe(CLIPS + 1);
    expect(await hits.first().getAttribute('data-title')).toBe(TITLE);
    const ours = page.locator(`[data-testid="hit"][data-title="${TITLE}"]`);
    expect(await ours.count()).toBe(CLIPS);
    // The first hit shows its thumbnail: an image the browser loaded (not the placeholder).
    const thumbnail = hits.first().locator('img.thumb');
    await thumbnail.waitFor({ timeout: 10_000 });
    await expect
      .poll(() => thumbnail.evaluate((img: any) => img.complete && img.naturalWidth > 0), { timeout: 10_000 })
      .toBe(true);
    expect(await seriousViolations()).toEqual([]);

    // The hit that starts latest in the video: playback must start there, not at 0.
    const starts = await ours.evaluateAll((buttons: any[]) => buttons.map((b) => Number(b.dataset.startMs)));
    const latest = Math.max(...starts);
    expect(latest).toBeGreaterThan(0);
    await page.locator(`[data-testid="hit"][data-title="${TITLE}"][data-start-ms="${latest}"]`).click();
    const player = page.getByTestId('player');
    await player.waitFor({ timeout: 10_000 });
    // Sampled every 50 ms: the first sample with data to play (readyState ≥ 2) and playback under way.
    let playing: { readyState: number; currentTime: number; playedFrom: number } | undefined;
    await expect
      .poll(
        async () => {
          const state = (await player.evaluate((video: any) => ({
            readyState: video.readyState,
            paused: video.paused,
            currentTime: video.currentTime,
            playedFrom: video.played.length > 0 ? video.played.start(0) : null,
          }))) as Json;
          if (state.readyState >= 2 && !state.paused && state.playedFrom !== null) playing = state as never;
          return playing !== undefined;
        },
        { timeout: 20_000, interval: 50 },
      )
      .toBe(true);
    expect(playing!.readyState).toBeGreaterThanOrEqual(2);
    expect(Math.abs(playing!.currentTime - latest / 1000)).toBeLessThanOrEqual(0.5);
    // Playback began at the hit's start, not at 0 followed by a seek.
    expect(Math.abs(playing!.playedFrom - latest / 1000)).toBeLessThanOrEqual(0.5);

    await page.getByLabel('Ask about this moment').fill('what colour is the object that stays still?');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    const answer = page.getByTestId('answer');
    await answer.waitFor({ timeout: 30_000 });
    expect(await answer.textContent()).toMatch(/^Answer: \S+/);
    await page.getByRole('button', { name: 'Caption this moment' }).click();
    const captioned = page.getByTestId('caption');
    await captioned.waitFor({ timeout: 30_000 });
    expect((await captioned.textContent())!.length).toBeGreaterThan(4);
    expect(await seriousViolations()).toEqual([]);
    await screenshot('search');
  });

  it('shows a camera segment arriving live on the cameras page', async () => {
    const registered = await client.graphql('mutation { registerCamera(name: "loading-dock") { id } }');
    const cameraId = registered.body.data.registerCamera.id as string;
    await open('Cameras', 'Cameras');
    await page.getByText('Waiting for new camera segments').waitFor();
    expect(await seriousViolations()).toEqual([]);
    // What the camera agent does for each recorded segment: mark the camera online, upload the segment.
    await client.graphql('mutation ($id: ID!) { setCameraStatus(id: $id, status: ONLINE) { id } }', {
      id: cameraId,
    });
    const clip = await readFile(path.join(ROOT, 'examples/demo-library/clips/test-000005.mp4'));
    const uploaded = await client.upload(clip, { filename: 'segment-0001.mp4', cameraId });
    expect(uploaded.status).toBe(202);
    const live = page.getByTestId('live-segment');
    await live.first().waitFor({ timeout: 60_000 });
    expect(await live.first().textContent()).toContain('loading-dock');
    await expect
      .poll(() => page.getByRole('region', { name: 'Cameras table' }).textContent(), { timeout: 10_000 })
      .toMatch(/loading-dock\s*online/);
    expect(await seriousViolations()).toEqual([]);
    await screenshot('cameras');
  });

  it('lists jobs, keys and the audit log for an admin', async () => {
    await open('Jobs', 'Jobs');
    await page.getByRole('region', { name: 'Jobs table' }).getByText('succeeded').first().waitFor();
    expect(await seriousViolations()).toEqual([]);
    await open('Audit log', 'Audit log');
    expect(await seriousViolations()).toEqual([]);
    await open('Keys', 'API keys');
    expect(await seriousViolations()).toEqual([]);
  });

  it('hides upload, delete and re-index from a read key, and the admin pages too', async () => {
    await page.getByLabel('Name').fill('viewer');
    await page.getByLabel('Role').selectOption('READ');
    await page.getByRole('button', { name: 'Create key' }).click();
    const token = (await page.getByTestId('new-token').textContent())!.trim();
    expect(token).toMatch(/^hbik_/);

    const reader = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    const readPage = await watchedPage(reader);
    await readPage.goto(`${base}/library`);
    await readPage.getByLabel('API key').fill(token);
    await readPage.getByRole('button', { name: 'Sign in' }).click();
    await readPage.getByRole('heading', { level: 1, name: 'Library' }).waitFor();
    await readPage.getByTestId('video-row').filter({ hasText: TITLE }).waitFor();
    const nav = readPage.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'Search',
      'Library',
      'Jobs',
      'Cameras',
      'GraphiQL',
    ]);
    expect(await readPage.getByRole('button', { name: /Delete|Re-index/ }).count()).toBe(0);
    expect(await seriousViolations(readPage)).toEqual([]);
    // Opening the upload page by its address shows why not, and no file input.
    await readPage.goto(`${base}/upload`);
    await readPage.getByRole('heading', { level: 1, name: 'Upload' }).waitFor();
    expect(await readPage.getByRole('alert').textContent()).toMatch(/role \(read\) cannot open this page/);
    expect(await readPage.locator('input[type=file]').count()).toBe(0);
    await reader.close();
  });

  it('opens GraphiQL at /graphql with the session key, bundled (no request leaves this server)', async () => {
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('data:'))
        elsewhere.push(request.url());
    });
    await page.goto(`${base}/graphql`);
    await page.locator('.graphiql-container').waitFor();
    // The editors load in chunks after the page: run once the query is in the editor.
    await page.locator('.graphiql-query-editor .CodeMirror-code').getByText('tenantId').waitFor();
    await page.locator('.graphiql-execute-button').click();
    await expect
      .poll(() => page.locator('.result-window').textContent(), { timeout: 15_000 })
      .toMatch(/"role": "ADMIN"/);
    expect(elsewhere).toEqual([]);
    expect(await seriousViolations()).toEqual([]);
  });

  it('fits 390 px wide on every page, with no serious accessibility violation', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const small = await watchedPage(phone);
    await small.goto(`${base}/`);
    await small.getByLabel('API key').fill(platform.adminKey!);
    await small.getByRole('button', { name: 'Sign in' }).click();
    for (const [label, heading] of [
      ['Search', 'Search'],
      ['Library', 'Library'],
      ['Upload', 'Upload'],
      ['Jobs', 'Jobs'],
      ['Cameras', 'Cameras'],
      ['Keys', 'API keys'],
      ['Audit log', 'Audit log'],
    ] as const) {
      await open(label, heading, small);
      const width = await small.evaluate('document.documentElement.scrollWidth');
      expect({ page: label, width }).toEqual({ page: label, width: 390 });
      expect({ page: label, violations: await seriousViolations(small) }).toEqual({
        page: label,
        violations: [],
      });
    }
    await phone.close();
  });

  it('ran with no Content-Security-Policy violation and no page error', () => {
    expect(pageProblems).toEqual([]);
  });
});
