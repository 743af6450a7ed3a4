import { randomInt } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { childRecord, syntheticLaCode, syntheticPhone, type RecordInput } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { freePort, launchChromium, startFreezableProxy, waitInPage, watchConsole } from '../support/browser.ts';
import { axeViolations } from '../support/accessibility.ts';
import { movableClock } from '../support/clock.ts';
import { compileSchema, createAjv } from '../../src/schemas.ts';
import { fhirJsonPost, notBroughtReport } from '../support/not-brought.ts';

const OFFICE_PHONE = '0113 496 0000';
const EDT_PHONE = '0113 496 0999';
const TEL: Record<string, string> = { [OFFICE_PHONE]: 'tel:+441134960000', [EDT_PHONE]: 'tel:+441134960999' };
const GIVEN = ['Robin', 'Alex', 'Sam', 'Jo', 'Kit', 'Ash', 'Lee', 'Max'];

type Child = { nhs: string; name: string; family: string };

let service: TestService;
let browser: Browser;
let screenshots: string;
beforeAll(async () => {
  // Launch first: a missing Chromium fails the file with a clear message before anything else.
  browser = await launchChromium();
  service = await startTestService({ env: { STREAM_HEARTBEAT_SECONDS: '1' } });
  screenshots = await mkdtemp(path.join(tmpdir(), 'cpis-console-screenshots-'));
  console.log(`console screenshots: ${screenshots}`);
});
afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

/** A fresh LA with its contact details and some children on plans, each with a distinct synthetic name. */
async function freshLa(children: number, recordOf: (i: number) => RecordInput = () => ({})) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const name = `${org} Borough Council`;
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, officeHoursPhone: OFFICE_PHONE, edtPhone: EDT_PHONE }),
  });
  expect(put.status).toBe(200);
  const records = Array.from({ length: children }, (_, i) =>
    childRecord({ givenNames: `${GIVEN[i % GIVEN.length]} ${'ABCDEFGH'[i % 8]}`, familyName: `Example${randomInt(10_000, 99_999)}${i}`, birthDate: '2016-05-01', planType: 'CPP', ...recordOf(i) }));
  const upload = await uploadJson(service, token, 1, records);
  expect(upload.status).toBe(201);
  expect((await upload.json()).loaded).toBe(children);
  return {
    org, token, name,
    children: records.map((r): Child => ({ nhs: r.nhsNumber as string, name: `${r.givenNames as string} ${r.familyName as string}`, family: r.familyName as string })),
  };
}

type SignIn = { name?: string; team?: string; sound?: boolean; desktop?: boolean; beforeTeam?: (page: Page) => Promise<void> };

/** Signs in as a demo worker; `team` answers the team question of an LA with duty teams (a code, or 'none'). */
async function openConsole(context: BrowserContext, baseUrl: string, org: string, options: SignIn = {}): Promise<Page> {
  const page = await context.newPage();
  consoleOutput.set(page, watchConsole(page));
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Local authority code').waitFor();
  expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
  await page.getByLabel('Local authority code').fill(org.toLowerCase());
  if (options.name) await page.getByLabel('Your name (optional)').fill(options.name);
  if (options.sound) await page.getByLabel('Play a sound for new alerts').check();
  if (options.desktop) await page.getByLabel('Show desktop notifications for new alerts').check();
  await page.getByRole('button', { name: 'Sign in as a demo worker' }).click();
  if (options.team) {
    await page.getByRole('group', { name: 'Which duty team are you on?' }).waitFor();
    await options.beforeTeam?.(page);
    await page.getByLabel(options.team === 'none' ? /^None: all of the local authority/ : new RegExp(`\\(${options.team}\\)$`)).check();
    await page.getByRole('button', { name: 'Continue' }).click();
  }
  await page.locator('#connection[data-state="live"]').waitFor();
  return page;
}

const consoleOutput = new WeakMap<Page, string[]>();
const card = (page: Page, childName: string, list = '#alerts') => page.locator(`${list} article`, { has: page.getByRole('heading', { name: childName }) });
const cardCount = (page: Page, list = '#alerts') => page.locator(`${list} article`).count();
const names = (page: Page, list = '#alerts') => page.locator(`${list} article h2`).allInnerTexts();
const spaced = (nhs: string) => `${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`;
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });

async function expectAccessible(page: Page, where: string) {
  expect(await axeViolations(page), `axe-core violations: ${where}`).toEqual([]);
}

/** The LA's duty teams: DAY and MASH, each told of its own cases first. */
/** Sets the LA's two teams; returns their phones as set (national form, which the console shows). */
async function setDutyTeams(token: string): Promise<{ day: string; mash: string }> {
  const phones = { day: syntheticPhone(), mash: syntheticPhone() };
  const put = await service.fetch('/la/v1/duty-teams', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      teams: [{ code: 'DAY', name: 'Children’s duty team', phone: phones.day }, { code: 'MASH', name: 'Front door MASH', phone: phones.mash }],
      routing: { inHours: 'DAY', outOfHours: 'DAY', byPlanTeam: true },
    }),
  });
  expect(put.status).toBe(200);
  return phones;
}

/**
 * Run in the page before its own scripts (a string: the test tsconfig has no DOM types): wraps the
 * browser's Notification and AudioContext, to record the desktop notifications the page shows (and
 * closes) and the notes it plays. The page's own code is not touched.
 */
const RECORD_NOTIFICATIONS_AND_TONES = `(() => {
  const shown = [];
  window.__shown = shown;
  window.__tones = 0;
  const Real = window.Notification;
  function Recorded(title, options) {
    const entry = { title, body: options?.body, tag: options?.tag, closed: false };
    shown.push(entry);
    const real = new Real(title, options);
    const close = real.close.bind(real);
    real.close = () => { entry.closed = true; close(); };
    return real;
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Object.defineProperty(Recorded, 'requestPermission', { value: (...args) => Real.requestPermission(...args) });
  window.Notification = Recorded;
  const createOscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__tones += 1;
    return createOscillator.call(this);
  };
})();`;

/** Draws a notification as the mailbox gives it with the console's own code, as a card at the top of the alerts. */
async function drawFixture(page: Page, notification: object): Promise<string> {
  return page.evaluate<string>(`Promise.all([import('/console/card.js'), import('/console/groups.js')]).then(([c, g]) => {
    const item = c.createCard('fixture-' + ${JSON.stringify(String((notification as { eventNumber: number }).eventNumber))}, () => undefined);
    c.updateCard(item, g.groupAlerts([${JSON.stringify(notification)}])[0], { sub: 'me' });
    document.getElementById('alerts').prepend(item);
    return item.innerText;
  })`);
}

describe('duty social worker console (real Chromium)', () => {
  it('signs in as a demo worker, shows a live alert and acknowledges it from the keyboard', async () => {
    const la = await freshLa(2);
    const [first, second] = la.children as [Child, Child];
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
    // An LA with no duty teams: no "my team", everything is the LA's.
    expect(await page.getByRole('group', { name: 'Show alerts for' }).isVisible()).toBe(false);

    // An unscheduled lookup in an emergency department reaches the console live.
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-1' }), 'CareTeam', first.nhs);
    const alert = card(page, first.name);
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toContain('New — not acknowledged');
    expect(text).toContain(spaced(first.nhs));
    expect(text).toContain('1 May 2016');
    expect(text).toContain('Child protection plan');
    expect(text).toMatch(/Organisation\s+Example General Hospital ED/);
    expect(text).toMatch(/ODS code\s+RXX01/);
    expect(text).toMatch(/Setting\s+Emergency department/);
    expect(text).toMatch(/Looked up by\s+Dr Test Clinician/);
    expect(text).toMatch(/Your case reference\s+None sent/);
    expect(text).toMatch(/Came in\s+(In office hours|Out of hours \(EDT\))/);
    expect(text).not.toContain('Sent to'); // routed to no team: the LA set none
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
    expect(mailbox.notifications[0]).toMatchObject({
      eventNumber: 1, acknowledgedBy: `demo-worker-${la.org.toLowerCase()}`, acknowledgedByName: 'Demo duty social worker', acknowledgedAt: expect.any(String),
    });

    // A second alert goes on top and stands out from the acknowledged one.
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-2' }), 'Flag', second.nhs);
    await card(page, second.name).getByText('New — not acknowledged').waitFor();
    expect(await names(page)).toEqual([second.name, first.name]);

    // Readable at 1024 px with no horizontal scroll; the token never appears in a URL; nothing logged.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1024);
    expect(socketUrls.length).toBeGreaterThanOrEqual(1);
    for (const url of socketUrls) expect(new URL(url).searchParams.has('ticket')).toBe(true);
    expect([page.url(), ...socketUrls].join(' ')).not.toMatch(/eyJ/);
    await expectAccessible(page, 'the alerts of an LA without teams');
    expect(consoleOutput.get(page)).toEqual([]);
    await shot(page, 'console');

    // A reload keeps the session (sessionStorage) and reloads the recent alerts with their state.
    await page.reload();
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(await names(page)).toEqual([second.name, first.name]);
    await card(page, first.name).getByText(/^Acknowledged by you at /).waitFor();
    expect(await card(page, second.name).innerText()).toContain('New — not acknowledged');
    // Signing out forgets the token and clears the screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Local authority code').waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    expect(await cardCount(page)).toBe(0);
    expect(await page.title()).toBe('CPIS duty console');
    await expectAccessible(page, 'the sign-in page');
    await context.close();
  });

  it('names who looked by SDS user id and job role, asks the worker to check identity when LAs differ, and draws every kind of notification', async () => {
    const la = await freshLa(1);
    const [child] = la.children as [Child];
    // Another LA holds the same NHS number with another date of birth.
    const other = syntheticLaCode();
    const otherUpload = await uploadJson(service, await laToken(service, other), 1, [childRecord({ nhsNumber: child.nhs, familyName: child.family, givenNames: child.name.split(' ').slice(0, -1).join(' '), birthDate: '2016-06-01' })]);
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
    expect(text).toMatch(/Looked up by\s+Dr Sam Registrar/);
    expect(text).toMatch(/Job role\s+Clinical Practitioner Access Role \(R8000\)/);
    expect(text).toMatch(/SDS user id\s+555021935107/);
    expect(text).toContain('Details differ (date of birth): another local authority holds different details for this NHS number.');
    // The child as the clinician was shown them (the most recently updated plan, the other LA's).
    expect(text).toContain('1 Jun 2016');

    // The other kinds, as the schema defines them (checked against it), drawn by the console's own code.
    const validate = compileSchema(createAjv(), 'notification.schema.json');
    const base = {
      occurredAt: '2026-12-01T10:00:00.000Z', outOfHours: false,
      subject: { nhsNumber: '9990000018', familyName: 'Example', givenNames: 'Sam', birthDate: '2016-05-01' },
      plan: { type: 'LAC', startDate: '2025-02-01', lacLegalStatus: 'S20', localId: 'LAC-0042' },
      plans: [{ type: 'LAC', startDate: '2025-02-01', status: 'active', lacLegalStatus: 'S20', localId: 'LAC-0042' }],
      acknowledgedAt: null, acknowledgedBy: null, acknowledgedByName: null, escalatedAt: null, escalations: 0,
    };
    const day = { teamCode: 'DAY', teamName: 'Children’s duty team', teamPhone: '0113 496 0100', reason: 'plan-team' };
    const reportedBy = {
      name: 'Nurse Pat Example', userId: 'console-nurse', role: 'clinician', sdsUserId: null, sdsRoleProfileId: null,
      jobRole: { code: 'R8001', name: 'Nurse Access Role' }, organisationCode: 'RYY02', organisationName: 'Example Community Health', setting: 'community', callbackPhone: '0113 496 0123',
    };
    const fixtures = {
      moved: { ...base, eventNumber: 97, type: 'inactive-nhs-number', routedTo: null, reason: 'superseded', replacementNhsNumber: '9990000026', moved: true },
      notBrought: { ...base, eventNumber: 98, type: 'was-not-brought', routedTo: day, reportedBy, appointment: { date: '2026-11-30', service: 'Community paediatrics' } },
      escalation: {
        ...base, eventNumber: 99, type: 'escalation', occurredAt: '2026-12-01T10:20:00.000Z',
        routedTo: { teamCode: 'EDT', teamName: 'Emergency Duty Team', teamPhone: '0113 496 0199', reason: 'escalation' },
        escalates: { eventNumber: 98, type: 'was-not-brought', occurredAt: '2026-12-01T10:00:00.000Z', routedTo: day },
        escalation: 2, unacknowledgedMinutes: 20, reportedBy, appointment: { date: '2026-11-30', service: 'Community paediatrics' },
      },
    };
    for (const [name, fixture] of Object.entries(fixtures)) expect(validate(fixture), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);

    const moved = await drawFixture(page, fixtures.moved);
    expect(moved).toContain('NHS number no longer active');
    expect(moved).toContain('merged into another number: your plans now sit under 999 000 0026; update your records.');

    const notBrought = await drawFixture(page, fixtures.notBrought);
    expect(notBrought).toContain('Not brought to an appointment');
    expect(notBrought).toMatch(/Appointment missed\s+Community paediatrics, 30 Nov 2026/);
    expect(notBrought).toMatch(/Reported by\s+Nurse Pat Example/);
    expect(notBrought).toMatch(/Job role\s+Nurse Access Role \(R8001\)/);
    expect(notBrought).toMatch(/ODS code\s+RYY02/);
    expect(notBrought).toMatch(/Plan\s+Looked after child under S20 \(accommodated by agreement\), since 1 Feb 2025/);
    expect(notBrought).toMatch(/Your case reference\s+LAC-0042/);
    expect(notBrought).toMatch(/Sent to\s+Children’s duty team \(DAY\), 0113 496 0100 \(the child’s allocated team\)/);
    expect(await page.locator('#fixture-98').getByRole('link', { name: '0113 496 0123' }).getAttribute('href')).toBe('tel:+441134960123');
    expect(notBrought).not.toContain('Escalated');

    // An escalation stands out by its text, not only its colour.
    const escalated = await drawFixture(page, fixtures.escalation);
    expect(escalated).toContain('Escalated: waiting too long');
    expect(escalated).toMatch(/Escalated\s+The second time: not acknowledged for 20 minutes/);
    expect(escalated).toMatch(/First alert\s+Alert 98, Not brought to an appointment, Tue,? 1 Dec 2026, 10:00 to Children’s duty team \(DAY\), 0113 496 0100/);
    expect(escalated).toMatch(/Sent to\s+Emergency Duty Team \(EDT\), 0113 496 0199 \(escalation: not acknowledged in time\)/);
    expect(await page.locator('#fixture-99 article').getAttribute('class')).toContain('alert--escalated');
    await expectAccessible(page, 'cards of every kind, escalated among them');
    await shot(page, 'kinds');
    expect(consoleOutput.get(page)).toEqual([]);
    await context.close();
  });

  it('shows my team first with all of the LA one click away, and a colleague’s acknowledgement live with their name', async () => {
    const la = await freshLa(2, (i) => (i === 0
      ? { teamCode: 'DAY', planType: 'LAC', lacLegalStatus: 'S31', localId: 'CASE-0042' }
      : { teamCode: 'MASH' }));
    const [ours, theirs] = la.children as [Child, Child];
    const phones = await setDutyTeams(la.token);

    // A worker of the day team picks their team at the demo sign-in; a colleague signs in for all of the LA.
    const dayContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const day = await openConsole(dayContext, service.url, la.org, {
      name: 'Sam Day-Worker', team: 'DAY', beforeTeam: (p) => expectAccessible(p, 'the team question at sign-in'),
    });
    const otherContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    const colleague = await openConsole(otherContext, service.url, la.org, { name: 'Alex Colleague', team: 'none' });

    const dr = await clinicianToken(service, { sub: 'console-dr-routing' });
    await searchFor(service, dr, 'CareTeam', theirs.nhs);
    await searchFor(service, dr, 'CareTeam', ours.nhs);

    // My team first: only the day team's alert, with where it was sent and why, the case reference and legal status.
    const mine = day.getByRole('button', { name: /^✓?\s*My team: Children’s duty team/ });
    const all = day.getByRole('button', { name: /All of the LA/ });
    await card(day, ours.name).waitFor();
    expect(await mine.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => all.innerText()).toContain('2 waiting');
    expect(await names(day)).toEqual([ours.name]);
    const ourText = await card(day, ours.name).innerText();
    // Whatever the number's area (a London one is 020 7946 …, not 0113 496 …): exactly the one set.
    expect(ourText).toMatch(new RegExp(`Sent to\\s+Children’s duty team \\(DAY\\), ${phones.day} \\(the child’s allocated team\\)`));
    expect(ourText).toMatch(/Plan\s+Looked after child under S31 \(care order\)/);
    expect(ourText).toMatch(/Your case reference\s+CASE-0042/);
    expect(await day.locator('#alerts-title').innerText()).toBe('Alerts for Children’s duty team, newest first');
    expect(await day.title()).toBe('(1) CPIS duty console');
    await expectAccessible(day, 'my team');

    // All of the LA, one click away (and back).
    await all.click();
    await expect.poll(() => names(day)).toEqual([ours.name, theirs.name]);
    expect(await all.getAttribute('aria-pressed')).toBe('true');
    expect(await card(day, theirs.name).innerText()).toMatch(/Sent to\s+Front door MASH \(MASH\)/);
    await expectAccessible(day, 'all of the LA');
    await mine.click();
    await expect.poll(() => names(day)).toEqual([ours.name]);

    // The colleague, with no team, sees everything; they acknowledge the day team's alert.
    await card(colleague, ours.name).waitFor();
    expect(await names(colleague)).toEqual([ours.name, theirs.name]);
    expect(await colleague.getByRole('group', { name: 'Show alerts for' }).isVisible()).toBe(false);
    await expectAccessible(colleague, 'the alerts in dark mode');
    await card(colleague, ours.name).getByRole('button', { name: 'Acknowledge' }).click();
    const clicked = Date.now();
    // Within a second, on the other console, with who by name.
    await card(day, ours.name).getByText(/^Acknowledged by Alex Colleague at /).waitFor({ timeout: 1_000 });
    const took = Date.now() - clicked;
    console.log(`acknowledgement reached the other console in ${took} ms`);
    expect(took).toBeLessThan(1_000);
    await card(colleague, ours.name).getByText(/^Acknowledged by you at /).waitFor();
    await waitInPage(day, `document.getElementById('announcer').textContent.includes('Acknowledged by Alex Colleague')`);
    expect(await day.title()).toBe('CPIS duty console');
    await expect.poll(() => mine.innerText()).toContain('none waiting');
    const [acked] = (await (await service.fetch(`/la/v1/notifications?nhsNumber=${ours.nhs}`, { token: la.token })).json()).notifications;
    expect(acked).toMatchObject({ acknowledgedByName: 'Alex Colleague', routedTo: { teamCode: 'DAY', reason: 'plan-team' } });
    expect(acked.acknowledgedBy).not.toBe(`demo-worker-${la.org.toLowerCase()}`); // two named demo workers are two people
    await shot(day, 'my-team');
    await shot(colleague, 'all-of-the-la-dark');
    for (const page of [day, colleague]) expect(consoleOutput.get(page)).toEqual([]);
    await dayContext.close();
    await otherContext.close();
  });

  it('pages older alerts in, finds a child by NHS number or name, groups repeat lookups on one card, and fits a phone', async () => {
    const la = await freshLa(53);
    const kids = la.children;
    const dr = await clinicianToken(service, { sub: 'console-dr-paging' });
    // Events 1 to 3: three children who fall outside the first page (50).
    for (const kid of kids.slice(0, 3)) await searchFor(service, dr, 'CareTeam', kid.nhs);
    for (let i = 3; i < 52; i += 7) await Promise.all(kids.slice(i, Math.min(i + 7, 52)).map((kid) => searchFor(service, dr, 'CareTeam', kid.nhs)));
    // Events 53 to 55: one child looked up by three clinicians (the same one twice would count once).
    const repeat = kids[52] as Child;
    for (const sub of ['console-dr-a', 'console-dr-b', 'console-dr-c']) await searchFor(service, await clinicianToken(service, { sub }), 'CareTeam', repeat.nhs);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await openConsole(context, service.url, la.org);
    const acks: unknown[] = [];
    page.on('request', (r) => r.url().endsWith('/la/v1/notifications/ack') && acks.push(r.postDataJSON()));
    await card(page, repeat.name).waitFor();

    // The three lookups of one child share one card: the latest in full, the earlier ones listed.
    expect(await cardCount(page)).toBe(48); // events 6 to 55, the repeat child's three on one card
    const grouped = card(page, repeat.name);
    expect(await grouped.innerText()).toContain('Looked up in unscheduled care · alert 55 · 3 alerts for this child, 3 not acknowledged');
    await grouped.getByText('Earlier alerts for this child (2)').click();
    const earlier = await grouped.locator('.earlier-list li').allInnerTexts();
    expect(earlier.map((t) => t.split(' · ')[0])).toEqual(['Alert 54', 'Alert 53']);
    expect(earlier.every((t) => t.includes('Not acknowledged') && t.includes('(RXX01)'))).toBe(true);
    for (const kid of kids.slice(0, 3)) expect(await card(page, kid.name).count()).toBe(0);

    // Search by NHS number reaches back past what is loaded; its results are a list of their own.
    await page.getByLabel('Find a child’s alerts: NHS number or name').fill(spaced(kids[0]!.nhs));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await card(page, kids[0]!.name, '#results').waitFor();
    expect(await names(page, '#results')).toEqual([kids[0]!.name]);
    expect(await page.locator('#results-title').innerText()).toBe(`Alerts for NHS number ${spaced(kids[0]!.nhs)}`);
    expect(await page.locator('#live-view').isVisible()).toBe(false);
    await expectAccessible(page, 'search results');
    await shot(page, 'search');
    // By name: each word starts one of the child's names.
    await page.getByLabel('Find a child’s alerts: NHS number or name').fill(`${kids[1]!.family.toLowerCase()} ${GIVEN[1]!.slice(0, 2)}`);
    await page.keyboard.press('Enter');
    await expect.poll(() => names(page, '#results')).toEqual([kids[1]!.name]);
    // A number that is not one is told, not sent.
    await page.getByLabel('Find a child’s alerts: NHS number or name').fill('12345');
    await page.keyboard.press('Enter');
    await page.getByText('An NHS number has 10 digits').waitFor();
    // Clear: back to the alerts, as they were.
    await page.getByRole('button', { name: 'Clear search and go back to the alerts' }).click();
    await page.locator('#live-view').waitFor();
    expect(await cardCount(page)).toBe(48);
    expect(await cardCount(page, '#results')).toBe(0);

    // Older alerts page in below, and say when there are no more.
    await page.getByRole('button', { name: 'Load older alerts' }).click();
    await page.getByText('No older alerts.').waitFor();
    expect(await cardCount(page)).toBe(53);
    expect((await names(page)).slice(-3)).toEqual([kids[2]!.name, kids[1]!.name, kids[0]!.name]);
    expect(await page.getByRole('button', { name: 'Load older alerts' }).isVisible()).toBe(false);

    // One button acknowledges every alert on the card, in one call.
    await grouped.getByRole('button', { name: 'Acknowledge all 3' }).click();
    await grouped.getByText(/^Acknowledged by you at /).waitFor();
    expect(acks).toEqual([{ eventNumbers: [53, 54, 55] }]);
    const mailbox = (await (await service.fetch(`/la/v1/notifications?nhsNumber=${repeat.nhs}`, { token: la.token })).json()).notifications;
    expect(mailbox.map((n: { eventNumber: number; acknowledgedAt: string | null }) => [n.eventNumber, Boolean(n.acknowledgedAt)])).toEqual([[55, true], [54, true], [53, true]]);
    await expectAccessible(page, 'the alerts after paging and acknowledging');
    expect(consoleOutput.get(page)).toEqual([]);
    await context.close();

    // On a phone: the banner folds away so that the first alert is in the first screenful.
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
    const small = await openConsole(phone, service.url, la.org);
    const first = small.locator('#alerts article').first();
    await first.waitFor();
    // Unscrolled, the card's name, the child's details and its button are all in the first screenful.
    expect(await small.evaluate<number>('window.scrollY')).toBe(0);
    for (const part of [first.locator('h2'), first.getByText('NHS number', { exact: true })]) {
      const box = await part.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.y + box!.height).toBeLessThanOrEqual(667);
    }
    expect(await small.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(await small.locator('#hours-state').isVisible()).toBe(false);
    expect(await small.locator('#call-now .phone').isVisible()).toBe(true);
    await small.screenshot({ path: path.join(screenshots, 'phone.png') });
    await expectAccessible(small, 'a phone');
    const more = small.getByRole('button', { name: 'More' });
    await more.focus();
    await small.keyboard.press('Enter');
    expect(await more.getAttribute('aria-expanded')).toBe('true');
    await small.locator('#hours-state').waitFor();
    expect(await small.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    await small.getByRole('button', { name: 'Find a child' }).click();
    expect(await small.getByLabel('Find a child’s alerts: NHS number or name').isVisible()).toBe(true);
    await expectAccessible(small, 'a phone, everything unfolded');
    expect(consoleOutput.get(small)).toEqual([]);
    await phone.close();
  });

  it('sounds a tone and shows a desktop notification with nothing identifying, reminds until acknowledged or muted', async () => {
    const la = await freshLa(2);
    const [first, second] = la.children as [Child, Child];
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    await context.grantPermissions(['notifications'], { origin: service.url });
    // Wraps the browser's own Notification and AudioContext to see what the page asks of them.
    await context.addInitScript(RECORD_NOTIFICATIONS_AND_TONES);
    await context.clock.install();
    const page = await openConsole(context, service.url, la.org, { sound: true, desktop: true });
    const shown = () => page.evaluate<{ title: string; body: string; tag: string; closed: boolean }[]>('window.__shown');
    const tones = () => page.evaluate<number>('window.__tones / 2'); // two notes a tone
    const reminders = async () => (await shown()).filter((n) => n.tag === 'cpis-reminder').length;
    expect(await page.getByLabel('Sound for new alerts', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByLabel('Desktop notifications', { exact: true }).isChecked()).toBe(true);
    expect(await page.evaluate<string | null>(`localStorage.getItem('cpis.console.desktop')`)).toBe('on');
    await expect.poll(tones).toBe(1); // switched on from the sign-in click: the worker hears what it sounds like
    await expectAccessible(page, 'sound and notifications on');

    // A new alert: one desktop notification, tagged by its number, saying nothing of the child.
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-5' }), 'CareTeam', first.nhs);
    await card(page, first.name).waitFor();
    await expect.poll(shown).toHaveLength(1);
    const [note] = await shown();
    expect(note).toEqual({ title: 'CPIS duty console', body: `New alert for ${la.name}: open the console`, tag: 'cpis-alert-1', closed: false });
    for (const secret of [first.nhs, first.nhs.slice(0, 3), first.family, 'Robin']) expect(JSON.stringify(note)).not.toContain(secret);
    await expect.poll(tones).toBe(2);

    // Every 30 seconds while it waits: a tone and a reminder.
    await context.clock.fastForward('00:31');
    await expect.poll(reminders).toBe(1);
    expect((await shown()).at(-1)?.body).toBe(`1 alert for ${la.name} not acknowledged: open the console`);
    await expect.poll(tones).toBe(3);

    // Muted: no more reminders for it; a new alert sounds again and its reminders come back.
    await page.getByRole('button', { name: 'Mute reminders' }).click();
    expect(await page.getByRole('button', { name: 'Mute reminders' }).getAttribute('aria-pressed')).toBe('true');
    await context.clock.fastForward('00:31');
    await page.waitForTimeout(300);
    expect(await reminders()).toBe(1);
    expect(await tones()).toBe(3);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 }); // a jump of the clock makes the stream look dead
    await searchFor(service, await clinicianToken(service, { sub: 'console-dr-6' }), 'CareTeam', second.nhs);
    await card(page, second.name).waitFor({ timeout: 15_000 });
    await expect.poll(async () => (await shown()).map((n) => n.tag)).toContain('cpis-alert-2');
    await expect.poll(tones).toBe(4);
    expect(await page.getByRole('button', { name: 'Mute reminders' }).getAttribute('aria-pressed')).toBe('false');
    await context.clock.fastForward('00:31');
    await expect.poll(reminders).toBe(2);

    // Acknowledged: its desktop notifications close and nothing repeats.
    for (const child of [first, second]) {
      await card(page, child.name).getByRole('button', { name: 'Acknowledge' }).click();
      await card(page, child.name).getByText(/^Acknowledged by you at /).waitFor();
    }
    await expect.poll(async () => (await shown()).filter((n) => n.tag.startsWith('cpis-alert-')).every((n) => n.closed)).toBe(true);
    const before = { reminders: await reminders(), tones: await tones() };
    await context.clock.fastForward('00:31');
    await page.waitForTimeout(300);
    expect({ reminders: await reminders(), tones: await tones() }).toEqual(before);
    expect(consoleOutput.get(page)).toEqual([]);
    await context.close();
  });

  it('shows a real report of a child not brought, live, with the call-back number; and its escalation, standing out, when nobody acknowledges it', async () => {
    const la = await freshLa(1, () => ({ teamCode: 'DAY', planType: 'LAC', lacLegalStatus: 'S20', localId: 'LAC-7001' }));
    const [child] = la.children as [Child];
    const teams = await service.fetch('/la/v1/duty-teams', {
      method: 'PUT', token: la.token, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        teams: [{ code: 'DAY', name: 'Children’s duty team', phone: '0113 496 0100', escalateAfterMinutes: 10, escalateTo: 'MGR' }, { code: 'MGR', name: 'Duty managers', phone: '0113 496 0111' }],
        routing: { inHours: 'DAY', outOfHours: 'DAY', byPlanTeam: true },
      }),
    });
    expect(teams.status).toBe(200);
    // An instance whose clock the test moves, so that the escalation falls due without waiting ten minutes.
    const clock = movableClock(new Date());
    const edge = await startTestService({ databaseUrl: service.databaseUrl, dataDir: service.dataDir, clock, env: { STREAM_HEARTBEAT_SECONDS: '1' } });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const page = await openConsole(context, edge.url, la.org, { team: 'none' });
      // A worker of the team first told, in their own view: the escalation goes to another team, yet they must see their alert went over their head.
      const dayWorker = await openConsole(context, edge.url, la.org, { team: 'DAY', name: 'Dana Day' });
      const gp = await clinicianToken(edge, { sub: 'console-gp', activities: ['B0170'], org: 'Y01234', setting: 'gp' });
      const reported = await edge.fetch('/cpis/FHIR/R4/Communication', {
        ...fhirJsonPost(notBroughtReport(child.nhs, { phone: '0113 496 0777', service: 'Community paediatrics', start: new Date(Date.now() - 3_600_000) })), token: gp,
      });
      expect(reported.status).toBe(201);
      const alert = card(page, child.name);
      await alert.getByText('Not brought to an appointment').first().waitFor();
      const text = await alert.innerText();
      expect(text).toMatch(/Appointment missed\s+Community paediatrics/);
      expect(text).toMatch(/Your case reference\s+LAC-7001/);
      expect(text).toMatch(/Sent to\s+Children’s duty team \(DAY\), 0113 496 0100/);
      expect(await alert.getByRole('link', { name: '0113 496 0777' }).getAttribute('href')).toBe('tel:+441134960777');
      expect(await alert.getAttribute('class')).not.toContain('alert--escalated');

      clock.advance(10 * 60_000);
      // Other tests' LAs share the database: only this LA's escalations are this test's to count.
      expect((await edge.composition.escalateAlerts()).las).toContain(la.org);
      await alert.getByText('Escalated: waiting too long').waitFor();
      const dayCard = card(dayWorker, child.name);
      await dayCard.getByText('Escalated: waiting too long').waitFor();
      expect(await dayWorker.locator('#alerts article').count()).toBe(1);
      expect(await alert.getAttribute('class')).toContain('alert--escalated');
      expect(await alert.innerText()).toMatch(/Sent to\s+Duty managers \(MGR\), 0113 496 0111 \(escalation: not acknowledged in time\)/);
      await expectAccessible(page, 'a real escalation of a child not brought');
      await shot(page, 'not-brought-escalated');

      // One acknowledgement for the card acknowledges the report and its escalation; nothing escalates again.
      await alert.getByRole('button', { name: /^Acknowledge/ }).click();
      await alert.locator('.badge--done').waitFor();
      expect(await alert.getAttribute('class')).not.toContain('alert--escalated');
      const mailbox = await (await edge.fetch('/la/v1/notifications', { token: la.token })).json();
      expect(mailbox.notifications.map((n: { type: string; acknowledgedAt: string | null }) => [n.type, n.acknowledgedAt !== null])).toEqual([['was-not-brought', true], ['escalation', true]]);
      clock.advance(60 * 60_000);
      expect((await edge.composition.escalateAlerts()).las).not.toContain(la.org);
      expect(consoleOutput.get(page)).toEqual([]);
    } finally {
      await context.close();
      await edge.stop();
    }
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
    const [before, during, after] = la.children as [Child, Child, Child];
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
      expect(await names(page)).toEqual([after.name, during.name, before.name]);
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
    const [before, during] = la.children as [Child, Child];
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
      expect(await names(page)).toEqual([during.name, before.name]);
    } finally {
      await context.close();
      await proxy.close();
    }
  });
});
