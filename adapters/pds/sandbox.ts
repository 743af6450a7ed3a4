import { readFile } from 'node:fs/promises';
import type { Demographics } from '../../src/ports.ts';
import { patientResultOf } from './patient-result.ts';

// The project's own copies of NHS England's published sandbox responses (see sandbox/NOTICE.md).
const SANDBOX = new URL('./sandbox/', import.meta.url);
const FILES: Record<string, string> = {
  '9000000009': 'Patient.json',
  '9000000017': 'Patient-Jayne-Smyth.json',
  '9000000025': 'Sensitive_Patient.json',
  '9000000033': 'Minimal_Patient.json',
};

/** PDS_MODE=sandbox: answers as NHS England's PDS sandbox does, from files, without any network. */
export async function createSandboxDemographics(): Promise<Demographics> {
  const patients = new Map<string, unknown>();
  for (const [nhsNumber, file] of Object.entries(FILES)) patients.set(nhsNumber, JSON.parse(await readFile(new URL(file, SANDBOX), 'utf8')));
  return {
    lookUp: async (nhsNumber) => {
      const patient = patients.get(nhsNumber);
      return patient ? patientResultOf(nhsNumber, patient) : { kind: 'not-found' };
    },
  };
}
