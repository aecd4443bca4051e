// The codec engine the DMOP, altp2m and Flask codecs share (lib/codec/layout.ts):
// stores and loads at every width, the value check, and plans from a layout.
import { DMOP_STRUCTS, FLASK_STRUCTS, type StructLayout } from '../../lib/abi';
import { decodeFields, fieldValue, get, getField, planStruct, put, putFields, type FieldPlan } from '../../lib/codec/layout';
import { code } from '../support/code';

test('put and get are little-endian at each width, at the bounds, at any offset', () => {
  const b = new Uint8Array(24).fill(0xee);
  put(b, 1, 'u8', 0xff);
  put(b, 2, 'u16', 0xfffe);
  put(b, 5, 'u32', 0xfffffffd);
  put(b, 9, 'u64', 0xfffffffffffffffcn);
  put(b, 17, 'u64', Number.MAX_SAFE_INTEGER);
  expect([...b.subarray(0, 9)]).toEqual([0xee, 0xff, 0xfe, 0xff, 0xee, 0xfd, 0xff, 0xff, 0xff]);
  expect([get(b, 1, 'u8'), get(b, 2, 'u16'), get(b, 5, 'u32'), get(b, 9, 'u64'), get(b, 17, 'u64')])
    .toEqual([0xff, 0xfffe, 0xfffffffd, 0xfffffffffffffffcn, BigInt(Number.MAX_SAFE_INTEGER)]);
  expect(b[0]).toBe(0xee); // nothing outside the fields written
  expect(get(b, 1, 'u16')).toBe(0xfeff);
});

test('fieldValue: defaults, names, booleans; everything else that does not fit is EINVAL naming the field', () => {
  const u8: FieldPlan = { key: 'level', at: 0, type: 'u8', boolean: true };
  const named: FieldPlan = { key: 'type', at: 0, type: 'u16', boolean: false, names: { port: 0, memory: 1 }, dflt: 1 };
  const u64: FieldPlan = { key: 'gfn', at: 0, type: 'u64', boolean: false };
  expect([fieldValue('x', 'op', u8, true), fieldValue('x', 'op', u8, 255), fieldValue('x', 'op', named, 'port'), fieldValue('x', 'op', named, undefined)]).toEqual([1, 255, 0, 1]);
  expect([fieldValue('x', 'op', u64, 2n ** 64n - 1n), fieldValue('x', 'op', u64, 7)]).toEqual([2n ** 64n - 1n, 7]);
  for (const [f, v] of [[u8, 256], [u8, -1], [u8, 1.5], [u8, undefined], [u8, 'x'], [named, true], [named, 'pci'], [u64, 2n ** 64n], [u64, -1n], [u64, 2 ** 53], [u64, null]] as const) {
    expect({ v, c: code(() => fieldValue('dm_op', 'op', f, v)) }).toEqual({ v, c: 'EINVAL' });
  }
  expect(() => fieldValue('dm_op', 'some_op', named, 'pci')).toThrow(expect.objectContaining({ syscall: 'dm_op', detail: "some_op.type: unknown name 'pci' (known: port, memory)" }));
  // An inherited key of the names table is no name: refused as unknown, not as a bad number.
  for (const v of ['toString', '__proto__', 'hasOwnProperty']) {
    expect(() => fieldValue('dm_op', 'some_op', named, v)).toThrow(expect.objectContaining({ code: 'EINVAL', detail: `some_op.type: unknown name '${v}' (known: port, memory)` }));
  }
});

test('planStruct places a layout at a base: IN fields by direction (inout too), OUT fields, pads and internal fields left out', () => {
  const { inputs, outputs } = planStruct(DMOP_STRUCTS.xen_dm_op_create_ioreq_server, 8);
  expect(inputs.map((f) => [f.key, f.at, f.type])).toEqual([['handleBufioreq', 8, 'u8']]);
  expect(outputs.map((f) => [f.key, f.at, f.type])).toEqual([['id', 12, 'u16']]);
  const mm = planStruct(DMOP_STRUCTS.xen_dm_op_modified_memory, 0, { internal: ['opaque'] });
  expect(mm.inputs.map((f) => f.key)).toEqual(['nrExtents']);
  // A pick names the C fields, whatever the layout's directions say.
  const picked = planStruct(DMOP_STRUCTS.xen_dm_op_set_mem_type, 0, {}, { inputs: ['first_pfn'], outputs: ['nr'] });
  expect([picked.inputs.map((f) => f.key), picked.outputs.map((f) => f.key)]).toEqual([['firstPfn'], ['nr']]);
});

test('decodeFields gives OUT fields back as read, as booleans, or as signed 32-bit ints', () => {
  const layout: StructLayout = { name: 's', size: 12, fields: [
    { name: 'on', offset: 0, type: 'u8', dir: 'out' }, { name: 'first_error', offset: 4, type: 'u32', dir: 'out' }, { name: 'n', offset: 8, type: 'u32', dir: 'out' },
  ] };
  const { outputs } = planStruct(layout, 0, { decode: { on: 'boolean', firstError: 'i32' } });
  const b = new Uint8Array(12);
  put(b, 0, 'u8', 2);
  put(b, 4, 'u32', 0xfffffff2);
  put(b, 8, 'u32', 0xfffffff2);
  expect(decodeFields(b, outputs)).toEqual({ on: true, firstError: -14, n: 0xfffffff2 });
});

test('putFields and getField address a struct by its C field names, from the layout table', () => {
  const b = new Uint8Array(40);
  putFields(b, 8, FLASK_STRUCTS.xen_flask_sid_context, { size: 5, context: 0x1122334455667788n });
  expect([getField(b, 8, FLASK_STRUCTS.xen_flask_sid_context, 'size'), getField(b, 8, FLASK_STRUCTS.xen_flask_sid_context, 'context')]).toEqual([5, 0x1122334455667788n]);
  expect(get(b, 16, 'u64')).toBe(0x1122334455667788n);
  // A name the layout does not have is a bug in the caller, not a request error.
  expect(() => putFields(b, 0, FLASK_STRUCTS.xen_flask_relabel, { nope: 1 })).toThrow(/has no scalar field nope/);
});
