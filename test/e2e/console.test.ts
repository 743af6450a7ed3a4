import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { childRecord, syntheticLaCode } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { freePort, launchChromium, startFreezableProxy, waitInPage, watchConsole } from '../support/browser.ts';
import { movableClock } from '../support/clock.ts';

const OFFICE_PHONE = '0113 496 0000';
const EDT_PHONE = '0113 496 0999';
const TEL: Record<string, string> = { [OFFICE_PHONE]: 'tel:+441134960000', [EDT_PHONE]: 'tel:+441134960999' };

let service: TestService;
let browser: Browser;
beforeAll(async () => {
  // Launch first: a missing Chromium fails the file with a clear message before anything else.
  browser = await launchChromium();
  service = await startTestService({ env: { STREAM_HEARTBEAT_SECONDS: '1' } });
});
afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

/** A fresh LA with its contact details and some children on plans, each with a distinct synthetic name. */
async function freshLa(children: number) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const name = `${org} Borough Council`;
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, officeHoursPhone: OFFICE_PHONE, edtPhone: EDT_PHONE }),
  });
  expect(put.status).toBe(200);
  const records = Array.from({ length: children }, (_, i) =>
    childRecord({ givenNames: `Robin ${'ABCDEFGH'[i]}`, familyName: `Example${randomInt(10_000, 99_999)}`, birthDate: '2016-05-01', planType: 'CPP' }));
  const upload = await uploadJson(service, token, 1, records);
  expect(upload.status).toBe(201);
  expect((await upload.json()).loaded).toBe(children);
  return {
    org, token, name,
    children: records.map((r) => ({ nhs: r.nhsNumber as string, name: `${r.givenNames as string} ${r.familyName as string}` })),
  };
}

async function openConsole(context: BrowserContext, baseUrl: string, org: string): Promise<Page> {
  const page = await context.newPage();
  consoleOutput.set(page, watchConsole(page));
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Local authority code').waitFor();
  expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
  await page.getByLabel('Local authority code').fill(org.toLowerCase());
  await page.getByRole('button', { name: 'Sign in as a demo worker' }).click();
  await page.locator('#connection[data-state="live"]').waitFor();
  return page;
}

const consoleOutput = new WeakMap<Page, string[]>();
const card = (page: Page, childName: string) => page.locator('article', { has: page.getByRole('heading', { name: childName }) });
const cardCount = (page: Page) => page.locator('#alerts article').count();

describe('duty social worker console (real Chromium)', () => {
  it('signs in as a demo worker, shows a live alert and acknowledges it from the keyboard', async () => {
    const la = await freshLa(2);
    const [first, second] = la.children as [{ nhs: string; name: string }, { nhs: string; name: string }];
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, reducedMotion: 'reduce' });
    const socketUrls: string[] = [];
    context.on('page', (p) => p.on('websocket', (ws) => socketUrls.push(ws.url())));
    const page = await openConsole(context, service.url, la.org);

    // The banner: the LA, the hours state and the number to call now, as the service answers now.
    await page.getByText(la.name, { exact: true }).waitFor();
    const serviceSays = async () => ((await (await service.fetch('/la/v1/organisation', { token: la.token })).json()).now.outOfHours as boolean);
    const outBefore = await serviceSays();
    const callNow = await page.locator('#call-now .phone').textContent();
    const hoursState = await page.locator('#hours-state').textContent();
    const outAfter = await serviceSays();
    const expected = new Set<string>([outBefore, outAfter].map((out) => (out ? EDT_PHONE : OFFICE_PHONE)));
    expect(expected.has(callNow ?? '')).toBe(true);
    expect(hoursState).toMatch(callNow === EDT_PHONE ? /^Out of hours \(EDT\)/ : /^Office hours/);
    expect(await page.locator('#call-now .phone').getAttribute('href')).toBe(TEL[callNow ?? '']);
    expect(await page.locator('#call-other').textContent()).toContain(callNow === EDT_PHONE ? OFFICE_PHONE : EDT_PHONE);
    await page.getByText('No alerts yet').waitFor();

    // An unscheduled lookup in an emergency department reaches the console live.
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-1' }), 'CareTeam', first.nhs);
    const alert = card(page, first.name);
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain('New — not acknowledged');
    expect(text).toContain(`${first.nhs.slice(0, 3)} ${first.nhs.slice(3, 6)} ${first.nhs.slice(6)}`);
    expect(text).toContain('1 May 2016');
    expect(text).toContain('Child protection plan');
    expect(text).toContain('Example General Hospital ED (Emergency department)');
    expect(text).toContain('Dr Test Clinician');
    expect(text).toMatch(/Came in\s+(In office hours|Out of hours \(EDT\))/);
    expect(await page.title()).toBe('(1) CPIS duty console');
    await waitInPage(page, `document.getElementById('announcer').textContent.includes('New alert')`);
    const announced = (await page.locator('#announcer').textContent()) ?? '';
    expect(announced).not.toContain(first.name);
    expect(announced).not.toContain(first.nhs.slice(0, 3));

    // Acknowledge with the keyboard only: focus the button, press Enter.
    const button = alert.getByRole('button', { name: 'Acknowledge' });
    await button.focus();
    await page.keyboard.press('Enter');
    await alert.getByText(/^Acknowledged by you at /).waitFor();
    expect(await alert.innerText()).not.toContain('not acknowledged');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('alert-1-name'); // focus kept on the card
    expect(await page.title()).toBe('CPIS duty console');
    const mailbox = await (await service.fetch('/la/v1/notifications', { token: la.token })).json();
    expect(mailbox.notifications).toHaveLength(1);
    expect(mailbox.notifications[0]).toMatchObject({ eventNumber: 1, acknowledgedBy: `demo-worker-${la.org.toLowerCase()}`, acknowledgedAt: expect.any(String) });

    // A second alert goes on top and stands out from the acknowledged one.
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-2' }), 'Flag', second.nhs);
    await card(page, second.name).getByText('New — not acknowledged').waitFor();
    const names = await page.locator('#alerts article h2').allInnerTexts();
    expect(names).toEqual([second.name, first.name]);

    // Readable at 1024 px with no horizontal scroll; the token never appears in a URL; nothing logged.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1024);
    expect(socketUrls.length).toBeGreaterThanOrEqual(1);
    for (const url of socketUrls) expect(new URL(url).searchParams.has('ticket')).toBe(true);
    expect([page.url(), ...socketUrls].join(' ')).not.toMatch(/eyJ/);
    expect(consoleOutput.get(page)).toEqual([]);
    await page.screenshot({ path: '/tmp/console.png', fullPage: true });

    // A reload keeps the session (sessionStorage) and reloads the recent alerts with their state.
    await page.reload();
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(await page.locator('#alerts article h2').allInnerTexts()).toEqual([second.name, first.name]);
    await card(page, first.name).getByText(/^Acknowledged by you at /).waitFor();
    expect(await card(page, second.name).innerText()).toContain('New — not acknowledged');
    // Signing out forgets the token and clears the screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Local authority code').waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    expect(await cardCount(page)).toBe(0);
    expect(await page.title()).toBe('CPIS duty console');
    await context.close();
  });

  it('names who looked by SDS user id and job role, asks the worker to check identity when LAs differ, and says where a merged number went', async () => {
    const la = await freshLa(1);
    const [child] = la.children as [{ nhs: string; name: string }];
    // Another LA holds the same NHS number with another date of birth.
    const other = syntheticLaCode();
    const otherUpload = await uploadJson(service, await laToken(service, other), 1, [childRecord({ nhsNumber: child.nhs, familyName: child.name.split(' ').at(-1), givenNames: child.name.split(' ').slice(0, -1).join(' '), birthDate: '2016-06-01' })]);
    expect((await otherUpload.json()).loaded).toBe(1);
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await openConsole(context, service.url, la.org);
    const dr = await service.token({
      role: 'clinician', sub: 'console-cis2-dr', name: 'Dr Sam Registrar', org: 'RXX01', org_name: 'Example General Hospital ED', setting: 'emergency-department',
      activities: ['B0107'], sds_user_id: '555021935107', job_role_code: 'R8000', job_role_name: 'Clinical Practitioner Access Role',
    });
    await searchFor(service, dr, 'CareTeam', child.nhs);
    const alert = page.locator('#alerts article').first();
    await alert.getByText('Check identity').waitFor();
    const text = await alert.innerText();
    expect(text).toContain('Dr Sam Registrar (Clinical Practitioner Access Role)');
    expect(text).toMatch(/SDS user id\s+555021935107/);
    expect(text).toContain('Details differ (date of birth): another local authority holds different details for this NHS number.');
    // The child as the clinician was shown them (the most recently updated plan, the other LA's).
    expect(text).toContain('1 Jun 2016');

    // An inactive-NHS-number notification of a merge, as the mailbox gives it, drawn by the console's own code.
    const notification = {
      eventNumber: 99, type: 'inactive-nhs-number', occurredAt: '2026-12-01T10:00:00.000Z', outOfHours: false,
      subject: { nhsNumber: '9990000018', familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-01' },
      plan: { type: 'CPP', startDate: '2025-02-01' }, plans: [{ type: 'CPP', startDate: '2025-02-01', status: 'active' }],
      reason: 'superseded', replacementNhsNumber: '9990000026', moved: true, acknowledgedAt: null, acknowledgedBy: null,
    };
    const moved = await page.evaluate<string>(
      `import('/console/render.js').then(({ renderCard }) => renderCard(${JSON.stringify(notification)}, { sub: 'me' }, () => undefined).textContent)`,
    );
    expect(moved).toContain('NHS number no longer active');
    expect(moved).toContain('merged into another number: your plans now sit under 999 000 0026; update your records.');
    expect(consoleOutput.get(page)).toEqual([]);
    await context.close();
  });

  it('shows the service\'s answer, not its own reckoning: the EDT on Christmas Day, and the office once the service says it has opened', async () => {
    const la = await freshLa(1);
    // An instance whose clock says Christmas Day, 10:00, whatever the browser's clock says.
    const clock = movableClock(new Date('2026-12-25T10:00:00Z'));
    const edge = await startTestService({ databaseUrl: service.databaseUrl, dataDir: service.dataDir, clock, env: { STREAM_HEARTBEAT_SECONDS: '1' } });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    let opened = 0;
    const socketCount = () => opened;
    context.on('page', (p) => p.on('websocket', () => opened++));
    try {
      const page = await openConsole(context, edge.url, la.org);
      const state = page.locator('#hours-state');
      await page.getByText('bank holiday (Christmas Day)', { exact: false }).waitFor();
      expect(await state.textContent()).toBe('Out of hours (EDT): bank holiday (Christmas Day), until Tue 29 Dec, 09:00. Office hours: Mon–Fri 09:00–17:00; closed on bank holidays.');
      expect(await page.locator('#call-now').textContent()).toBe(`Call now: Emergency Duty Team (EDT) ${EDT_PHONE}`);
      expect(await page.locator('#call-now .phone').getAttribute('href')).toBe(TEL[EDT_PHONE]);
      expect(await page.locator('#call-other').textContent()).toBe(`Duty team, office hours: ${OFFICE_PHONE}`);
      expect(await page.locator('#hours').getAttribute('class')).toContain('hours--out');

      // Five seconds before the office opens. Once the page has its answer (and the one it asks for
      // when its stream opens), the service's clock moves on: the page learns of it only by asking
      // again by itself when the answer was due to change, not a minute later and not by reconnecting.
      clock.set(new Date('2026-12-29T08:59:55Z'));
      await page.reload();
      await page.locator('#connection[data-state="live"]').waitFor();
      await page.getByText('Out of hours (EDT), until 09:00.', { exact: false }).waitFor();
      await page.waitForTimeout(1_000);
      const sockets = socketCount();
      clock.set(new Date('2026-12-29T09:00:05Z'));
      expect(await state.textContent()).toMatch(/^Out of hours \(EDT\), until 09:00\./);
      await page.getByText('Office hours, until 17:00.', { exact: false }).waitFor({ timeout: 15_000 });
      expect(socketCount()).toBe(sockets);
      expect(await page.locator('#call-now').textContent()).toBe(`Call now: Duty team (office hours) ${OFFICE_PHONE}`);
      expect(await page.locator('#call-now .phone').getAttribute('href')).toBe(TEL[OFFICE_PHONE]);
      expect(await page.locator('#hours').getAttribute('class')).not.toContain('hours--out');
      expect(consoleOutput.get(page)).toEqual([]);
    } finally {
      await context.close();
      await edge.stop();
    }
  });

  it('says the hours are not known, rather than put a stale number first, once its answer has run out and the service cannot be asked', async () => {
    const la = await freshLa(1);
    // Three seconds before the office closes on an ordinary Wednesday.
    const clock = movableClock(new Date('2026-12-02T16:59:57Z'));
    const edge = await startTestService({ databaseUrl: service.databaseUrl, dataDir: service.dataDir, clock, env: { STREAM_HEARTBEAT_SECONDS: '1' } });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const page = await openConsole(context, edge.url, la.org);
      await page.getByText('Office hours, until 17:00.', { exact: false }).waitFor();
      expect(await page.locator('#call-now .phone').textContent()).toBe(OFFICE_PHONE);
      // The service can no longer be asked (the stream stays up): the answer runs out at 17:00.
      await page.route('**/la/v1/organisation', (route) => route.abort());
      await page.getByText('Office hours not known now', { exact: false }).waitFor({ timeout: 15_000 });
      expect(await page.locator('#call-now').textContent()).toBe(`Emergency Duty Team (EDT): ${EDT_PHONE}`);
      expect(await page.locator('#call-other').textContent()).toBe(`Duty team (office hours): ${OFFICE_PHONE}`);
      expect(await page.locator('#call-now').textContent()).not.toContain('Call now');
    } finally {
      await context.close();
      await edge.stop();
    }
  });

  it('reconnects by itself after its instance goes away and catches up with no duplicate', async () => {
    const la = await freshLa(3);
    const [before, during, after] = la.children as { nhs: string; name: string }[] as [{ nhs: string; name: string }, { nhs: string; name: string }, { nhs: string; name: string }];
    const port = await freePort();
    const env = { STREAM_HEARTBEAT_SECONDS: '1', PORT: String(port) };
    const shared = { databaseUrl: service.databaseUrl, dataDir: service.dataDir };
    let edge = await startTestService({ ...shared, env });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const socketUrls: string[] = [];
    context.on('page', (p) => p.on('websocket', (ws) => socketUrls.push(ws.url())));
    try {
      const page = await openConsole(context, edge.url, la.org);
      const dr = await clinicianToken(service, { sub: 'console-dr-3' });
      await searchFor(service, dr, 'CareTeam', before.nhs);
      await card(page, before.name).waitFor();

      // The instance the page is connected to shuts down (close 1001): the page shows it is not live.
      await edge.stop();
      await page.locator('#connection:not([data-state="live"])').waitFor();
      expect(await page.locator('#connection-text').textContent()).toMatch(/^(Reconnecting…|Offline)$/);

      // A lookup while it is down, committed through another instance.
      await searchFor(service, dr, 'CareTeam', during.nhs);
      expect(await card(page, during.name).count()).toBe(0);

      // The instance comes back on the same address: the page reconnects with a new ticket and catches up.
      edge = await startTestService({ ...shared, env });
      await card(page, during.name).waitFor({ timeout: 30_000 });
      await page.locator('#connection[data-state="live"]').waitFor();
      await searchFor(service, dr, 'CareTeam', after.nhs);
      await card(page, after.name).waitFor();
      await page.waitForTimeout(1_500); // a few heartbeats: any duplicate would have arrived by now
      expect(await page.locator('#alerts article h2').allInnerTexts()).toEqual([after.name, during.name, before.name]);
      expect(await cardCount(page)).toBe(3);

      const streams = socketUrls.map((u) => new URL(u).searchParams);
      expect(streams.length).toBeGreaterThanOrEqual(2);
      expect(streams[0]?.get('after')).toBe('0');
      expect(streams.at(-1)?.get('after')).toBe('1'); // from the highest alert already shown
      expect(new Set(streams.map((s) => s.get('ticket'))).size).toBe(streams.length); // a new ticket each time
    } finally {
      await context.close();
      await edge.stop();
    }
  });

  it('treats a socket that has gone silent (no heartbeats) as dead, reconnects and catches up', async () => {
    const la = await freshLa(2);
    const [before, during] = la.children as [{ nhs: string; name: string }, { nhs: string; name: string }];
    const proxy = await startFreezableProxy(service.url);
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const page = await openConsole(context, proxy.url, la.org);
      const dr = await clinicianToken(service, { sub: 'console-dr-4' });
      await searchFor(service, dr, 'CareTeam', before.nhs);
      await card(page, before.name).waitFor();
      await page.waitForTimeout(1_500); // the page has seen a heartbeat, so it knows the interval (1 s here)

      // The network goes quiet without closing anything: only the missing heartbeats can tell.
      proxy.freeze();
      await page.locator('#connection:not([data-state="live"])').waitFor({ timeout: 8_000 });
      await searchFor(service, dr, 'CareTeam', during.nhs);
      proxy.thaw();

      await card(page, during.name).waitFor({ timeout: 30_000 });
      await page.locator('#connection[data-state="live"]').waitFor();
      await page.waitForTimeout(1_500);
      expect(await page.locator('#alerts article h2').allInnerTexts()).toEqual([during.name, before.name]);
    } finally {
      await context.close();
      await proxy.close();
    }
  });
});
