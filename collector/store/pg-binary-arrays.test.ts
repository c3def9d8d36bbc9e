import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresHandle, startPostgres } from '../../tests/support/postgres.ts';
import { INT4_OID, INT8_OID, int4Array, int8Array, TEXT_OID, textArray } from './pg-binary-arrays.ts';

describe('binary array layout', () => {
  it('writes the header, then each element as a length and its bytes', () => {
    const buf = textArray(['ab', new Uint8Array([0x63])]);
    expect([...buf]).toEqual([
      ...[0, 0, 0, 1], // one dimension
      ...[0, 0, 0, 0], // no nulls
      ...[0, 0, 0, TEXT_OID],
      ...[0, 0, 0, 2], // two elements
      ...[0, 0, 0, 1], // lower bound 1
      ...[0, 0, 0, 2, 0x61, 0x62],
      ...[0, 0, 0, 1, 0x63],
    ]);
  });

  it('writes int8 as big-endian two’s complement and int4 as big-endian', () => {
    const int8 = int8Array([-2]);
    expect(int8.readInt32BE(8)).toBe(INT8_OID);
    expect(int8.readInt32BE(20)).toBe(8);
    expect(int8.readBigInt64BE(24)).toBe(-2n);
    const int4 = int4Array([-5]);
    expect(int4.readInt32BE(8)).toBe(INT4_OID);
    expect(int4.readInt32BE(24)).toBe(-5);
  });

  it('refuses numbers the element type cannot hold', () => {
    expect(() => int8Array([2 ** 53])).toThrow(RangeError);
    expect(() => int8Array([1.5])).toThrow(RangeError);
    expect(() => int4Array([2 ** 31])).toThrow(RangeError);
  });
});

describe('binary arrays in a real PostgreSQL', () => {
  let server: PostgresHandle;
  let client: pg.Client;

  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: await server.createDatabase() });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await server?.dispose();
  });

  it('reads back every text, byte string, and integer as written', async () => {
    const texts = ['', 'plain', '中文 告警', 'quote " backslash \\ tab \t', '😀', '{"a":[1,2]}'];
    const bytes = new TextEncoder().encode('{"event":"日志"}');
    const int8s = [
      0,
      -1,
      1,
      2 ** 32,
      -(2 ** 32) - 7,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      1_764_000_000_000,
    ];
    const int4s = [0, -1, 502, -2_147_483_648, 2_147_483_647];
    const result = await client.query(
      'select array_to_json($1::text[])::text as t, $2::int8[]::text[] as i8, $3::int4[] as i4',
      [textArray([...texts, bytes]), int8Array(int8s), int4Array(int4s)],
    );
    const row = result.rows[0] as { t: string; i8: string[]; i4: number[] };
    expect(JSON.parse(row.t)).toEqual([...texts, '{"event":"日志"}']);
    expect(row.i8.map(Number)).toEqual(int8s);
    expect(row.i4).toEqual(int4s);
  });

  it('unnests column arrays into rows', async () => {
    const result = await client.query('select * from unnest($1::text[], $2::int8[]) as u(name, n) order by n', [
      textArray(['b', 'a']),
      int8Array([2, 1]),
    ]);
    expect(result.rows).toEqual([
      { name: 'a', n: '1' },
      { name: 'b', n: '2' },
    ]);
  });

  it('stores a string with U+0000 (which PostgreSQL text cannot hold) with U+FFFD in its place', async () => {
    const result = await client.query('select ($1::text[])[1] as t', [textArray(['rule\u0000title'])]);
    expect(result.rows[0]).toEqual({ t: 'rule\uFFFDtitle' });
  });

  it('is refused by the server when a byte string is not valid UTF-8', async () => {
    await expect(client.query('select $1::text[]', [textArray([new Uint8Array([0xff, 0xfe])])])).rejects.toThrow(
      /invalid byte sequence/,
    );
  });
});
