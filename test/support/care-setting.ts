import { Client } from 'fhir-kit-client';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.d.ts';
import type { TestService } from './service.ts';

export const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** A clinician's identity in an emergency department, with the RBAC activities given. */
export async function clinicianToken(service: TestService, options: { sub?: string; activities?: string[]; org?: string; setting?: string } = {}) {
  return service.token({
    role: 'clinician',
    sub: options.sub ?? 'clinician-1',
    name: 'Dr Test Clinician',
    org: options.org ?? 'RXX01',
    org_name: 'Example General Hospital ED',
    setting: options.setting ?? 'emergency-department',
    activities: options.activities ?? ['B0107'],
  });
}

/** The FHIR client a care-setting system would use, pointed at the service. */
export function fhirClient(service: TestService, token: string) {
  return new Client({ baseUrl: `${service.url}/cpis/FHIR/R4`, bearerToken: token });
}

/** Searches one resource type for one NHS number; unscheduled unless told otherwise. */
export async function searchFor(
  service: TestService,
  token: string,
  resourceType: 'CareTeam' | 'Flag' | 'AuditEvent',
  nhsNumber: string,
  headers: Record<string, string> = {},
): Promise<Bundle> {
  return (await fhirClient(service, token).search({
    resourceType,
    searchParams: { 'patient:identifier': `${NHS_SYSTEM}|${nhsNumber}` },
    options: { headers },
  })) as unknown as Bundle;
}

/** The HTTP status and OperationOutcome a failed fhir-kit-client call carries. */
export async function failureOf(call: Promise<unknown>): Promise<{ status: number; code: string; body: { issue: { diagnostics: string; expression?: string[] }[] } }> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: { status: number; data: unknown } }).response;
    if (!response) throw error;
    const body = (typeof response.data === 'string' ? JSON.parse(response.data) : response.data) as { issue: { details: { coding: { code: string }[] }; diagnostics: string }[] };
    return { status: response.status, code: body.issue[0]?.details.coding[0]?.code ?? '', body };
  }
  throw new Error('expected the call to fail');
}

export const matches = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as FhirResource);
export const includes = (bundle: Bundle) => (bundle.entry ?? []).filter((e: BundleEntry) => e.search?.mode === 'include').map((e) => e.resource as FhirResource);
