// A 16550 UART's register file, enough for a polling guest driver (Linux's
// 8250 driver probes it with the loopback test; firmware and tiny guests
// poll LSR.THRE). It knows nothing of Xen: claim its 8 registers with an
// ioreq server (for example ports 0x3f8-0x3ff) and it answers reads and
// writes at offsets 0-7. It raises no interrupts (it has no line to raise:
// IIR only reports what would be pending). Register meanings: the National
// Semiconductor PC16550D data sheet, as QEMU's hw/char/serial.c models them.
import { EventEmitter } from 'events';
import { describe, invalidArgument } from '../errors';
import { type IoDevice } from '../ioreq/claims';
import { type IoSize } from '../ioreq/request';

export const UART_REG = { RBR_THR_DLL: 0, IER_DLM: 1, IIR_FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7 } as const;

const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IIR_NONE = 0x01;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
/** Carrier, data set ready and clear to send: a cable that is always there. */
const MSR_IDLE = 0xb0;

/** A guest that never ends a line still has its text emitted, this many bytes at a time. */
export const UART_MAX_LINE = 4096;

export interface Uart16550Events {
  /** A line the guest wrote, without its "\n" (nor a "\r" before it). */
  line: [text: string];
}

/**
 * Emits 'line' for each line the guest writes to THR. `receive()` queues
 * input for the guest to read from RBR (LSR.DR says when there is some).
 */
export class Uart16550 extends EventEmitter implements IoDevice {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c; // 9600 baud from the 1.8432 MHz clock, the usual reset value of firmware
  private dlm = 0;
  private fifo = false;
  private thriPending = false;
  private readonly rx: number[] = [];
  private out: number[] = [];
  private readonly decoder = new TextDecoder('utf-8');

  read(offset: number, size: IoSize): number | bigint {
    if (size === 1) return this.readReg(offset & 7); // what a driver does; no BigInt
    // A wider access reads consecutive registers, lowest first (little-endian).
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.readReg((offset + i) & 7));
    return size === 8 ? v : Number(v);
  }

  write(offset: number, size: IoSize, value: number | bigint): void {
    if (size === 1 && typeof value === 'number') {
      this.writeReg(offset & 7, value & 0xff);
      return;
    }
    let v = BigInt(value);
    for (let i = 0; i < size; i++) {
      this.writeReg((offset + i) & 7, Number(v & 0xffn));
      v >>= 8n;
    }
  }

  /** Queues bytes (a string is sent as UTF-8) for the guest to read. */
  receive(input: string | Uint8Array): void {
    let bytes: Uint8Array;
    if (typeof input === 'string') bytes = new TextEncoder().encode(input);
    else if (input instanceof Uint8Array) bytes = input;
    else throw invalidArgument('uart.receive', `input must be a string or Uint8Array, got ${describe(input)}`);
    for (const b of bytes) this.rx.push(b);
  }

  /** Emits what the guest wrote since its last newline, if anything. */
  flush(): void {
    if (this.out.length > 0) this.emitLine();
  }

  private readReg(reg: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (reg) {
      case UART_REG.RBR_THR_DLL:
        if (dlab) return this.dll;
        return this.rx.shift() ?? 0;
      case UART_REG.IER_DLM:
        return dlab ? this.dlm : this.ier;
      case UART_REG.IIR_FCR: {
        const fifo = this.fifo ? IIR_FIFO : 0;
        if ((this.ier & IER_RDI) && this.rx.length > 0) return fifo | IIR_RDI;
        if ((this.ier & IER_THRI) && this.thriPending) {
          this.thriPending = false; // reading IIR acknowledges THRE
          return fifo | IIR_THRI;
        }
        return fifo | IIR_NONE;
      }
      case UART_REG.LCR: return this.lcr;
      case UART_REG.MCR: return this.mcr;
      case UART_REG.LSR:
        // Transmission is instantaneous: the holding register and shifter are always empty.
        return LSR_THRE | LSR_TEMT | (this.rx.length > 0 ? LSR_DR : 0);
      case UART_REG.MSR:
        if (this.mcr & MCR_LOOP) {
          // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
          const m = this.mcr;
          return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
        }
        return MSR_IDLE;
      default: return this.scr;
    }
  }

  private writeReg(reg: number, v: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (reg) {
      case UART_REG.RBR_THR_DLL:
        if (dlab) {
          this.dll = v;
          return;
        }
        this.thriPending = true;
        if (this.mcr & MCR_LOOP) this.rx.push(v);
        else this.transmit(v);
        return;
      case UART_REG.IER_DLM:
        if (dlab) {
          this.dlm = v;
          return;
        }
        // Enabling the THRE interrupt with THR empty makes it pending at once.
        if (!(this.ier & IER_THRI) && (v & IER_THRI)) this.thriPending = true;
        this.ier = v & 0x0f;
        return;
      case UART_REG.IIR_FCR:
        this.fifo = (v & FCR_ENABLE) !== 0;
        if (v & FCR_CLEAR_RX) this.rx.length = 0;
        return;
      case UART_REG.LCR: this.lcr = v; return;
      case UART_REG.MCR: this.mcr = v & 0x1f; return;
      case UART_REG.LSR: case UART_REG.MSR: return; // read-only (factory test writes ignored)
      default: this.scr = v;
    }
  }

  private transmit(b: number): void {
    if (b === 0x0a) {
      this.emitLine();
      return;
    }
    this.out.push(b);
    if (this.out.length >= UART_MAX_LINE) this.emitLine();
  }

  private emitLine(): void {
    const bytes = Uint8Array.from(this.out);
    this.out = [];
    let text = this.decoder.decode(bytes);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.emit('line', text);
  }
}
