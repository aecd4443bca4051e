// How the layout tables write a struct (lib/abi/layouts.ts, altp2m.ts): a
// field, and a struct of fields. Not part of the package's API.
import type { Direction, Field, Scalar, StructLayout } from './layouts';

export const f = (name: string, offset: number, type: Scalar, dir: Direction, count?: number): Field =>
  count === undefined ? { name, offset, type, dir } : { name, offset, type, dir, count };

export function struct(name: string, size: number, ...fields: Field[]): StructLayout {
  return { name, size, fields };
}
