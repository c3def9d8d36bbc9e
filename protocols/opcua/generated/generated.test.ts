import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILES } from '../../../scripts/gen-opcua-tables.ts';
import { encodingName, statusCodeName } from '../names.ts';

describe('generated OPC UA tables', () => {
  it('regenerating from the pinned packages gives byte-identical files', () => {
    for (const file of GENERATED_FILES) {
      const path = new URL(file.path, new URL('../../../scripts/', import.meta.url));
      expect(readFileSync(path, 'utf8'), file.path).toBe(file.render());
    }
  });
  it('names services and status codes', () => {
    expect(encodingName(631)).toBe('ReadRequest');
    expect(encodingName(12208)).toBe('FindServersOnNetworkRequest');
    expect(statusCodeName(0x80020000)).toBe('BadInternalError');
    expect(statusCodeName(0x80340000 | 0x400)).toBe('BadNodeIdUnknown');
  });
});
