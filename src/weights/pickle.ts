/**
 * A restricted pickle reader: it understands the opcodes of protocols 2-5 that plain data needs (ints,
 * floats, strings, tuples, lists, dicts, memo, persistent ids) and hands every `GLOBAL` to the caller's
 * allowlist. Nothing is ever imported or executed: a global is only a name, and REDUCE can only call the
 * JavaScript functions the allowlist returns. This is the spirit of `torch.load(weights_only=True)`.
 *
 * No part of it recurses over the data, and the stack, mark depth and memo are bounded, so a deeply
 * nested or oversized pickle fails with a message instead of exhausting the call stack or memory.
 */

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyList {
  constructor(readonly items: PyValue[]) {}
}
/** dict and OrderedDict alike; insertion order is kept, as in Python 3.7+. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
}
/** A global the allowlist accepted: a name plus the JS function REDUCE may call with its arguments. */
export class PyCallable {
  constructor(
    readonly qualname: string,
    readonly call: (args: PyValue[]) => PyValue,
  ) {}
}
/** A value built by an allowlisted callable or a persistent id (tensors, storage references). */
export class PyExternal<T = unknown> {
  constructor(
    readonly kind: string,
    readonly value: T,
  ) {}
}

export type PyKey = null | boolean | number | bigint | string;
export type PyValue = PyKey | Uint8Array | PyTuple | PyList | PyDict | PyCallable | PyExternal;

export interface UnpickleHooks {
  /** Returns the callable for `module.name`, or throws (naming it) when it is not allowed. */
  resolveGlobal(module: string, name: string): PyCallable;
  /** Resolves a BINPERSID id (torch: a storage reference). */
  persistentLoad(pid: PyValue): PyValue;
}

/** Thrown for anything the reader refuses; callers add the file name and turn it into a UserError. */
export class PickleError extends Error {}

export const LIMITS = { stack: 1_000_000, markDepth: 256, memo: 1_000_000, longBytes: 64, stringBytes: 16 * 1024 * 1024 };

export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v !== 'object') return typeof v === 'string' ? 'str' : typeof v;
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyCallable) return v.qualname;
  return v.kind;
}

/** Reads a pickle and returns its top-level value. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): PyValue {
  return new Machine(bytes, hooks).run();
}

class Machine {
  private pos = 0;
  private stack: PyValue[] = [];
  private marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly hooks: UnpickleHooks,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): PyValue {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      if (op === 0x2e) return this.pop(); // STOP '.'
      if (!this.step(op)) {
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
      }
    }
  }

  /** Executes one opcode; false when it is not one a state dict needs. */
  private step(op: number): boolean {
    switch (op) {
      case 0x80: this.u8(); return true; // PROTO n
      case 0x95: this.take(8); return true; // FRAME: length only, the bytes follow inline
      case 0x28: this.pushMark(); return true; // MARK '('
      case 0x30: this.pop(); return true; // POP
      case 0x31: this.popMark(); return true; // POP_MARK
      case 0x32: this.push(this.top()); return true; // DUP
      case 0x4e: this.push(null); return true; // NONE
      case 0x88: this.push(true); return true; // NEWTRUE
      case 0x89: this.push(false); return true; // NEWFALSE
      case 0x4a: this.push(this.view.getInt32(this.take(4), true)); return true; // BININT
      case 0x4b: this.push(this.u8()); return true; // BININT1
      case 0x4d: this.push(this.view.getUint16(this.take(2), true)); return true; // BININT2
      case 0x8a: this.push(this.long(this.u8())); return true; // LONG1
      case 0x8b: this.push(this.long(this.view.getUint32(this.take(4), true))); return true; // LONG4
      case 0x47: this.push(this.view.getFloat64(this.take(8), false)); return true; // BINFLOAT (big-endian)
      default: return this.stepStrings(op) || this.stepContainers(op) || this.stepMemo(op) || this.stepObjects(op);
    }
  }

  private stepStrings(op: number): boolean {
    switch (op) {
      case 0x58: this.push(this.utf8(this.view.getUint32(this.take(4), true))); return true; // BINUNICODE
      case 0x8c: this.push(this.utf8(this.u8())); return true; // SHORT_BINUNICODE
      case 0x8d: this.push(this.utf8(this.u64())); return true; // BINUNICODE8
      case 0x55: this.push(this.latin1(this.u8())); return true; // SHORT_BINSTRING (Python 2 str)
      case 0x54: this.push(this.latin1(this.view.getUint32(this.take(4), true))); return true; // BINSTRING
      case 0x43: this.push(this.raw(this.u8()).slice()); return true; // SHORT_BINBYTES
      case 0x42: this.push(this.raw(this.view.getUint32(this.take(4), true)).slice()); return true; // BINBYTES
      default: return false;
    }
  }

  private stepContainers(op: number): boolean {
    switch (op) {
      case 0x29: this.push(new PyTuple([])); return true; // EMPTY_TUPLE
      case 0x74: this.push(new PyTuple(this.popMark())); return true; // TUPLE
      case 0x85: this.push(new PyTuple(this.popN(1))); return true; // TUPLE1
      case 0x86: this.push(new PyTuple(this.popN(2))); return true; // TUPLE2
      case 0x87: this.push(new PyTuple(this.popN(3))); return true; // TUPLE3
      case 0x5d: this.push(new PyList([])); return true; // EMPTY_LIST
      case 0x6c: this.push(new PyList(this.popMark())); return true; // LIST
      case 0x61: this.listOf(this.stack.length - 2).items.push(this.pop()); return true; // APPEND
      case 0x65: { const items = this.popMark(); this.listOf(this.stack.length - 1).items.push(...items); return true; } // APPENDS
      case 0x7d: this.push(new PyDict()); return true; // EMPTY_DICT
      case 0x64: { const d = new PyDict(); this.setItems(d, this.popMark()); this.push(d); return true; } // DICT
      case 0x73: { const kv = this.popN(2); this.setItems(this.dictAt(this.stack.length - 1), kv); return true; } // SETITEM
      case 0x75: { const kv = this.popMark(); this.setItems(this.dictAt(this.stack.length - 1), kv); return true; } // SETITEMS
      default: return false;
    }
  }

  private stepMemo(op: number): boolean {
    switch (op) {
      case 0x71: this.put(this.u8()); return true; // BINPUT
      case 0x72: this.put(this.view.getUint32(this.take(4), true)); return true; // LONG_BINPUT
      case 0x94: this.put(this.memo.size); return true; // MEMOIZE
      case 0x68: this.get(this.u8()); return true; // BINGET
      case 0x6a: this.get(this.view.getUint32(this.take(4), true)); return true; // LONG_BINGET
      default: return false;
    }
  }

  private stepObjects(op: number): boolean {
    switch (op) {
      case 0x63: { const module = this.line(); const name = this.line(); this.push(this.hooks.resolveGlobal(module, name)); return true; } // GLOBAL
      case 0x93: { const [m, n] = this.popN(2); this.push(this.hooks.resolveGlobal(this.str(m), this.str(n))); return true; } // STACK_GLOBAL
      case 0x51: this.push(this.hooks.persistentLoad(this.pop())); return true; // BINPERSID
      case 0x52: this.reduce(); return true; // REDUCE
      case 0x62: this.build(); return true; // BUILD
      default: return false;
    }
  }

  private reduce(): void {
    const [fn, args] = this.popN(2);
    if (!(fn instanceof PyCallable)) throw new PickleError(`REDUCE on a ${describe(fn)}, which is not an allowed callable`);
    if (!(args instanceof PyTuple)) throw new PickleError(`REDUCE of ${fn.qualname} with ${describe(args)} arguments`);
    this.push(fn.call(args.items));
  }

  /** BUILD sets an object's state; the only state a state dict carries is OrderedDict's `_metadata`, unused. */
  private build(): void {
    const state = this.pop();
    const target = this.top();
    if (!(target instanceof PyDict) || !(state instanceof PyDict || state instanceof PyTuple || state === null)) {
      throw new PickleError(`BUILD of a ${describe(target)} with ${describe(state)} state is not part of a state dict`);
    }
  }

  private setItems(d: PyDict, kv: PyValue[]): void {
    if (kv.length % 2) throw new PickleError('odd number of items for a dict');
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (k !== null && typeof k === 'object') throw new PickleError(`dict key of type ${describe(k)} is not supported`);
      d.map.set(k, kv[i + 1]);
    }
  }

  private listOf(index: number): PyList {
    const v = this.stack[index];
    if (!(v instanceof PyList)) throw new PickleError(`APPEND to a ${index < 0 ? 'missing value' : describe(v)}`);
    return v;
  }

  private dictAt(index: number): PyDict {
    const v = this.stack[index];
    if (!(v instanceof PyDict)) throw new PickleError(`SETITEM on a ${index < 0 ? 'missing value' : describe(v)}`);
    return v;
  }

  private push(v: PyValue): void {
    if (this.stack.length >= LIMITS.stack) throw new PickleError(`pickle stack deeper than ${LIMITS.stack} values`);
    this.stack.push(v);
  }

  private pop(): PyValue {
    if (this.stack.length === 0 || this.stack.length <= (this.marks.at(-1) ?? -1)) throw new PickleError('pickle stack underflow');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length === 0) throw new PickleError('pickle stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popN(n: number): PyValue[] {
    if (this.stack.length - n < (this.marks.at(-1) ?? 0)) throw new PickleError('pickle stack underflow');
    return this.stack.splice(this.stack.length - n, n);
  }

  private pushMark(): void {
    if (this.marks.length >= LIMITS.markDepth) throw new PickleError(`pickle nested deeper than ${LIMITS.markDepth} levels`);
    this.marks.push(this.stack.length);
  }

  private popMark(): PyValue[] {
    const m = this.marks.pop();
    if (m === undefined) throw new PickleError('pickle MARK missing');
    return this.stack.splice(m);
  }

  private put(index: number): void {
    if (this.memo.size >= LIMITS.memo && !this.memo.has(index)) throw new PickleError(`pickle memo larger than ${LIMITS.memo}`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new PickleError(`pickle memo entry ${index} missing`);
    this.push(this.memo.get(index) as PyValue);
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private u64(): number {
    const v = this.view.getBigUint64(this.take(8), true);
    if (v > BigInt(LIMITS.stringBytes)) throw new PickleError(`pickle string of ${v} bytes is too long`);
    return Number(v);
  }

  /** Advances by n bytes and returns where they start, refusing to run past the end. */
  private take(n: number): number {
    if (this.pos + n > this.bytes.length) throw new PickleError('pickle data ends early (truncated)');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private raw(n: number): Uint8Array {
    if (n > LIMITS.stringBytes) throw new PickleError(`pickle string of ${n} bytes is too long`);
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }

  private utf8(n: number): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.raw(n));
    } catch (err) {
      if (err instanceof PickleError) throw err;
      throw new PickleError('pickle string is not valid UTF-8');
    }
  }

  private latin1(n: number): string {
    return Buffer.from(this.raw(n)).toString('latin1');
  }

  /** A newline-terminated ASCII line (GLOBAL's module and name), bounded in length. */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 256) throw new PickleError('pickle GLOBAL name is malformed');
    const s = Buffer.from(this.bytes.subarray(this.pos, end)).toString('latin1');
    this.pos = end + 1;
    return s;
  }

  private str(v: PyValue): string {
    if (typeof v !== 'string') throw new PickleError(`STACK_GLOBAL with a ${describe(v)} name`);
    return v;
  }

  /** Little-endian two's-complement integer of n bytes; a plain number when it is a safe integer. */
  private long(n: number): number | bigint {
    if (n > LIMITS.longBytes) throw new PickleError(`pickle integer of ${n} bytes is too long`);
    const b = this.raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}
