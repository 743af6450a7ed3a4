// What one notification says, as rows of a description list: the child, the plan, who looked (or
// reported) and from where, where it was routed, and, for an escalation, the alert it repeats.

import { el } from './dom.js';
import {
  formatDate, formatInstant, formatMinutes, formatNhsNumber, lacLegalStatusName, ordinal, planName, settingLabel, telHref,
} from './format.js';

export const KINDS = {
  access: 'Looked up in unscheduled care',
  'was-not-brought': 'Not brought to an appointment',
  escalation: 'Escalated: still not acknowledged',
  'inactive-nhs-number': 'NHS number no longer active',
  'plan-ended-over-18': 'Plan ended: turned 18',
};

export const kindOf = (n) => KINDS[n.type] ?? String(n.type);
export const childName = (n) => [n.subject?.givenNames, n.subject?.familyName].filter(Boolean).join(' ') || 'Name not given';

const ROUTE_REASONS = {
  'plan-team': 'the child’s allocated team',
  'in-hours': 'in office hours',
  'out-of-hours': 'out of hours',
  escalation: 'escalation: not acknowledged in time',
};

function planText(p) {
  const status = p.type === 'LAC' && lacLegalStatusName(p.lacLegalStatus);
  return `${planName(p.type)}${status ? ` under ${status}` : ''}${p.startDate ? `, since ${formatDate(p.startDate)}` : ''}${p.status && p.status !== 'active' ? ' (ended)' : ''}`;
}

const plansOf = (n) => (Array.isArray(n.plans) && n.plans.length ? n.plans : [n.plan].filter(Boolean));

const FIELD_NAMES = { familyName: 'family name', givenNames: 'given names', birthDate: 'date of birth', postcode: 'postcode' };

/** What the notification's `detailsDiffer` asks of the duty worker, naming fields, never values. */
function detailsDifferText(differ) {
  if (!differ || !Array.isArray(differ.fields) || differ.fields.length === 0) return null;
  const fields = differ.fields.map((f) => FIELD_NAMES[f] ?? String(f)).join(', ');
  const where = differ.otherLa ? 'another local authority holds different details for this NHS number' : 'your plans of this NHS number disagree';
  return `Details differ (${fields}): ${where}. The clinician was warned; check your record is right.`;
}

const REASONS = { superseded: 'merged into another number', deceased: 'recorded as deceased', invalidated: 'invalidated', restricted: 'restricted' };

/** For an inactive-NHS-number notification: why, and where the plans went when they moved. */
function inactiveNumberText(n) {
  const why = REASONS[n.reason] ?? 'no longer active';
  if (n.moved && n.replacementNhsNumber) return `${why}: your plans now sit under ${formatNhsNumber(n.replacementNhsNumber)}; update your records.`;
  return `${why}: its plans are no longer shown to clinicians.`;
}

const phoneLink = (phone) => el('a', { href: telHref(phone), class: 'tel' }, phone);

/** One team as "Children's duty team (DAY), 0113 496 0100" with the number to dial. */
export const teamText = (t) => [`${t.teamName} (${t.teamCode}), `, phoneLink(t.teamPhone)];

/** The clinician and their organisation: accessedBy of an access, reportedBy of a was-not-brought. */
function personRows(by, verb) {
  const rows = [
    [verb, by.name || by.userId],
    ['Job role', by.jobRole ? `${by.jobRole.name ?? 'Job role'} (${by.jobRole.code})` : 'Not given'],
    ['Organisation', by.organisationName || by.organisationCode, 'wide'],
    ['ODS code', by.organisationCode],
    ['Setting', settingLabel(by.setting) ?? 'Not given'],
  ];
  // The SDS user id is how the NHS names a person across organisations: what a duty worker quotes when calling back.
  if (by.sdsUserId) rows.push(['SDS user id', by.sdsUserId]);
  if (by.callbackPhone) rows.push(['Call back on', phoneLink(by.callbackPhone), 'wide']);
  return rows;
}

function escalationRows(n) {
  const e = n.escalates ?? {};
  const first = e.routedTo ? [' to ', ...teamText(e.routedTo)] : [];
  return [
    ['Escalated', `The ${ordinal(n.escalation ?? 1)} time: not acknowledged for ${formatMinutes(n.unacknowledgedMinutes)}`, 'wide'],
    ['First alert', [`Alert ${e.eventNumber}, ${KINDS[e.type] ?? e.type ?? 'alert'}, ${formatInstant(e.occurredAt)}`, ...first], 'wide'],
  ];
}

/** The child, their plan and where the alert went: [term, detail, 'wide'?] rows. */
function childRows(n) {
  const rows = [
    ['Date of birth', formatDate(n.subject?.birthDate)],
    ['NHS number', formatNhsNumber(n.subject?.nhsNumber)],
    ['Plan', plansOf(n).map(planText).join('; '), 'wide'],
  ];
  const references = [...new Set(plansOf(n).map((p) => p.localId).filter(Boolean))];
  rows.push(['Your case reference', references.length ? references.join(', ') : 'None sent']);
  rows.push(['Came in', n.outOfHours ? 'Out of hours (EDT)' : 'In office hours']);
  if (n.routedTo) rows.push(['Sent to', [...teamText(n.routedTo), ` (${ROUTE_REASONS[n.routedTo.reason] ?? n.routedTo.reason})`], 'wide']);
  if (n.plan?.type === 'UCPP') rows.push(['Note', 'The person named is the expectant mother.', 'wide']);
  if (n.type !== 'escalation' && n.escalations > 0) rows.push(['Escalated', `${n.escalations === 1 ? 'Once' : `${n.escalations} times`}, last at ${formatInstant(n.escalatedAt)}`, 'wide']);
  const differ = detailsDifferText(n.detailsDiffer);
  if (differ) rows.push(['Check identity', differ, 'wide']);
  if (n.type === 'inactive-nhs-number') rows.push(['NHS number', inactiveNumberText(n), 'wide']);
  if (n.type === 'plan-ended-over-18' && n.endDate) rows.push(['Plan ended', formatDate(n.endDate)]);
  if (!n.accessedBy && !n.reportedBy) rows.push(['Date', formatInstant(n.occurredAt)]);
  return rows;
}

/** Who looked the child up, or reported them not brought, and from where; for an escalation, the alert it repeats first. */
function sourceRows(n) {
  const rows = n.type === 'escalation' ? escalationRows(n) : [];
  if (n.appointment) rows.push(['Appointment missed', `${n.appointment.service}, ${formatDate(n.appointment.date)}`, 'wide']);
  if (n.accessedBy) rows.push(['When', formatInstant(n.occurredAt)], ...personRows(n.accessedBy, 'Looked up by'));
  else if (n.reportedBy) rows.push(['Reported', formatInstant(n.occurredAt)], ...personRows(n.reportedBy, 'Reported by'));
  return rows;
}

const SOURCE_TITLES = { access: 'Who looked them up', 'was-not-brought': 'Who reported it', escalation: 'The alert escalated' };

const dl = (rows) => el('dl', { class: 'facts' }, rows.map(([term, detail, wide]) => el('div', { class: wide ? 'fact fact--wide' : 'fact' }, el('dt', {}, term), el('dd', {}, detail))));

/** The notification's facts: the child and plan, then who looked or reported and from where. */
export function factList(n) {
  const source = sourceRows(n);
  return [
    dl(childRows(n)),
    source.length ? el('h3', { class: 'facts-title' }, SOURCE_TITLES[n.type] ?? 'Details') : null,
    source.length ? dl(source) : null,
  ].filter(Boolean);
}

/** One line for an earlier alert of the same child: which, when, from where. */
export function summaryLine(n) {
  const by = n.accessedBy ?? n.reportedBy;
  const where = by ? `${by.organisationName || by.organisationCode} (${by.organisationCode}), ${by.name || by.userId}` : null;
  return [`Alert ${n.eventNumber}`, kindOf(n), formatInstant(n.occurredAt), where].filter(Boolean).join(' · ');
}

/** What the screen reader hears for a new alert: no name or NHS number, those stay in the card. */
export function announcement(n) {
  const by = n.accessedBy ?? n.reportedBy;
  const where = by?.organisationName ? ` at ${by.organisationName}` : '';
  const team = n.routedTo ? ` for ${n.routedTo.teamName}` : '';
  if (n.type === 'access') return `New alert${team}, ${planName(n.plan?.type)}: looked up${where}.`;
  if (n.type === 'was-not-brought') return `New alert${team}, ${planName(n.plan?.type)}: not brought to an appointment${where}.`;
  if (n.type === 'escalation') return `Escalated alert${team}: not acknowledged for ${formatMinutes(n.unacknowledgedMinutes)}.`;
  return `New alert: ${kindOf(n)}.`;
}
