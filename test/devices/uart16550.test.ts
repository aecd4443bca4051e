// The 16550 register file, alone and behind the ioreq engine (the guest's
// polling loop played as ioreq_t requests on a plain page).
import { IOREQ_AT, IOREQ_READ, IOREQ_STATE, IOREQ_TYPE, IOREQ_WRITE } from '../../lib/abi/ioreq';
import { UART_MAX_LINE, UART_REG, Uart16550 } from '../../lib/devices/uart16550';
import { IoreqEngine } from '../../lib/ioreq/engine';

function uart() {
  const u = new Uart16550();
  const lines: string[] = [];
  u.on('line', (l: string) => lines.push(l));
  const w = (reg: number, v: number) => u.write(reg, 1, v);
  const r = (reg: number) => u.read(reg, 1) as number;
  return { u, lines, w, r };
}

describe('16550 UART registers', () => {
  test('THR writes become lines, without "\\n" or a "\\r" before it; UTF-8 is decoded', () => {
    const { u, lines, w } = uart();
    for (const b of Buffer.from('hi\r\nnext\nh\u00e9\n')) w(UART_REG.RBR_THR_DLL, b);
    expect(lines).toEqual(['hi', 'next', 'h\u00e9']);
    for (const b of Buffer.from('partial')) w(UART_REG.RBR_THR_DLL, b);
    expect(lines).toHaveLength(3);
    u.flush();
    expect(lines[3]).toBe('partial');
    u.flush();
    expect(lines).toHaveLength(4);
  });

  test(`a line that never ends is emitted every ${UART_MAX_LINE} bytes`, () => {
    const { lines, w } = uart();
    for (let i = 0; i < UART_MAX_LINE + 1; i++) w(0, 0x61);
    expect(lines.map((l) => l.length)).toEqual([UART_MAX_LINE]);
  });

  test('LSR always has THRE and TEMT; DR only while input waits in RBR', () => {
    const { u, r } = uart();
    expect(r(UART_REG.LSR)).toBe(0x60);
    u.receive('ok');
    expect(r(UART_REG.LSR)).toBe(0x61);
    expect(r(UART_REG.RBR_THR_DLL)).toBe(0x6f);
    expect(r(UART_REG.RBR_THR_DLL)).toBe(0x6b);
    expect(r(UART_REG.LSR)).toBe(0x60);
    expect(r(UART_REG.RBR_THR_DLL)).toBe(0);
    u.receive(Uint8Array.of(1, 2));
    expect(r(UART_REG.RBR_THR_DLL)).toBe(1);
    for (const bad of [1, null, [1], undefined]) {
      let c = '';
      try { u.receive(bad as never); } catch (e) { c = (e as { code: string }).code; }
      expect(c).toBe('EINVAL');
    }
  });

  test('DLAB switches offsets 0 and 1 to the divisor latch, leaving THR, RBR and IER alone', () => {
    const { lines, w, r } = uart();
    w(UART_REG.IER_DLM, 0x05);
    w(UART_REG.LCR, 0x83); // DLAB, 8N1
    w(UART_REG.RBR_THR_DLL, 0x01); // 115200 baud
    w(UART_REG.IER_DLM, 0x00);
    expect([r(UART_REG.RBR_THR_DLL), r(UART_REG.IER_DLM)]).toEqual([0x01, 0x00]);
    w(UART_REG.LCR, 0x03);
    expect(r(UART_REG.LCR)).toBe(0x03);
    expect(r(UART_REG.IER_DLM)).toBe(0x05);
    w(UART_REG.RBR_THR_DLL, 0x41);
    w(UART_REG.RBR_THR_DLL, 0x0a);
    expect(lines).toEqual(['A']);
  });

  test('IER keeps 4 bits, MCR 5, SCR all 8; LSR and MSR ignore writes', () => {
    const { w, r } = uart();
    w(UART_REG.IER_DLM, 0xff);
    w(UART_REG.MCR, 0xff);
    w(UART_REG.SCR, 0xa5);
    w(UART_REG.LSR, 0);
    w(UART_REG.MSR, 0);
    expect([r(UART_REG.IER_DLM), r(UART_REG.MCR), r(UART_REG.SCR), r(UART_REG.LSR)]).toEqual([0x0f, 0x1f, 0xa5, 0x60]);
  });

  test('IIR: no interrupt; FIFO bits after FCR enables it; THRE pending once when enabled; RDI with input', () => {
    const { u, w, r } = uart();
    expect(r(UART_REG.IIR_FCR)).toBe(0x01);
    w(UART_REG.IIR_FCR, 0x07);
    expect(r(UART_REG.IIR_FCR)).toBe(0xc1);
    w(UART_REG.IER_DLM, 0x02);
    expect(r(UART_REG.IIR_FCR)).toBe(0xc2);
    expect(r(UART_REG.IIR_FCR)).toBe(0xc1); // acknowledged by the read
    w(UART_REG.RBR_THR_DLL, 0x41);
    expect(r(UART_REG.IIR_FCR)).toBe(0xc2);
    w(UART_REG.IER_DLM, 0x03);
    u.receive('x');
    expect(r(UART_REG.IIR_FCR)).toBe(0xc4);
    w(UART_REG.IIR_FCR, 0x03); // clear the receive FIFO
    expect(r(UART_REG.LSR) & 1).toBe(0);
  });

  test('loopback (Linux 8250 autoconfig): MSR mirrors MCR, THR comes back in RBR, nothing is emitted', () => {
    const { lines, w, r } = uart();
    expect(r(UART_REG.MSR)).toBe(0xb0);
    w(UART_REG.MCR, 0x10 | 0x0a); // LOOP | RTS | OUT2
    expect(r(UART_REG.MSR) & 0xf0).toBe(0x90); // DCD | CTS, as drivers/tty/serial/8250/8250_port.c expects
    w(UART_REG.MCR, 0x10 | 0x05); // LOOP | DTR | OUT1
    expect(r(UART_REG.MSR) & 0xf0).toBe(0x60); // RI | DSR
    w(UART_REG.RBR_THR_DLL, 0x55);
    expect(r(UART_REG.LSR) & 1).toBe(1);
    expect(r(UART_REG.RBR_THR_DLL)).toBe(0x55);
    w(UART_REG.RBR_THR_DLL, 0x0a);
    expect(lines).toEqual([]);
  });

  test('wider accesses read and write consecutive registers, lowest first', () => {
    const { u, r } = uart();
    u.write(UART_REG.LCR, 2, 0x0f03); // LCR = 0x03, MCR = 0x0f (no loopback)
    expect([r(UART_REG.LCR), r(UART_REG.MCR)]).toEqual([0x03, 0x0f]);
    expect(u.read(UART_REG.LCR, 4)).toBe(0xb0600f03); // LCR, MCR, LSR, MSR
    expect(typeof u.read(0, 8)).toBe('bigint');
  });
});

describe('the UART behind the ioreq engine', () => {
  test('a polling guest prints a line through ports 0x3f8-0x3ff', () => {
    const page = new Uint8Array(4096);
    const dv = new DataView(page.buffer);
    const engine = new IoreqEngine({ ioreqPage: page, vcpus: 1 });
    const u = new Uart16550();
    const lines: string[] = [];
    u.on('line', (l: string) => lines.push(l));
    engine.claimPorts(0x3f8, 0x3ff, u);
    // Xen's side: one request at a time, then wait for IORESP_READY.
    const io = (port: number, dir: number, value = 0): number => {
      dv.setBigUint64(IOREQ_AT.addr, BigInt(port), true);
      dv.setBigUint64(IOREQ_AT.data, BigInt(value), true);
      dv.setUint32(IOREQ_AT.count, 1, true);
      dv.setUint32(IOREQ_AT.size, 1, true);
      dv.setUint8(IOREQ_AT.type, IOREQ_TYPE.PIO);
      dv.setUint8(IOREQ_AT.flags, IOREQ_STATE.IOREQ_READY | (dir << 5));
      expect(engine.serveVcpu(0)).toBe(true);
      expect(dv.getUint8(IOREQ_AT.flags) & 0xf).toBe(IOREQ_STATE.IORESP_READY);
      return Number(dv.getBigUint64(IOREQ_AT.data, true));
    };
    for (const ch of Buffer.from('Hello from the guest\n')) {
      while ((io(0x3fd, IOREQ_READ) & 0x20) === 0) { /* poll THRE */ }
      io(0x3f8, IOREQ_WRITE, ch);
    }
    expect(lines).toEqual(['Hello from the guest']);
    expect(engine.stats.served).toBe(42);
  });
});
