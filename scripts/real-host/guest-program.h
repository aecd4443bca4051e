/*
 * The real-host guest: a tiny flat 32-bit program (protected mode, paging
 * off, interrupts off), hand-assembled so the harness needs no assembler.
 * It prints a NUL-terminated message through a 16550 UART at 0x3f8, polling
 * LSR.THRE before each byte as a real polling driver does; then writes the
 * scratch register (SCR) `iterations` times (the round-trip benchmark); then
 * writes the done port and halts for good.
 *
 * Every `in`/`out` leaves the guest and, when an ioreq server claims the
 * port, becomes one round trip to the device model (xen/arch/x86/hvm/io.c:
 * handle_pio -> hvmemul_do_pio -> ioreq_send).
 */
#ifndef GUEST_PROGRAM_H
#define GUEST_PROGRAM_H

#include <stdint.h>

#define GUEST_RAM_PAGES 256        /* gfns 0..0xff: the first MiB */
#define GUEST_CODE_GFN 1
#define GUEST_ENTRY 0x1000u         /* code at the start of GUEST_CODE_GFN */
#define GUEST_ITERATIONS_OFFSET 0x100 /* u32, little-endian */
#define GUEST_MESSAGE_OFFSET 0x104    /* NUL-terminated */
#define GUEST_MESSAGE_MAX 255

#define GUEST_UART_BASE 0x3f8
#define GUEST_UART_LSR (GUEST_UART_BASE + 5)
#define GUEST_UART_SCR (GUEST_UART_BASE + 7)
#define GUEST_DONE_PORT 0x500       /* claimed by the device model only */

/* Absolute addresses, little-endian, as immediates. */
#define LE32(x) (uint8_t)((x) & 0xff), (uint8_t)(((x) >> 8) & 0xff), (uint8_t)(((x) >> 16) & 0xff), (uint8_t)(((x) >> 24) & 0xff)

static const uint8_t guest_code[] = {
  /* 0x00 */ 0xfc,                                   /* cld                       */
  /* 0x01 */ 0xbe, LE32(GUEST_ENTRY + GUEST_MESSAGE_OFFSET), /* mov esi, message */
  /* next: */
  /* 0x06 */ 0xba, LE32(GUEST_UART_LSR),             /* mov edx, LSR              */
  /* poll: */
  /* 0x0b */ 0xec,                                   /* in al, dx                 */
  /* 0x0c */ 0xa8, 0x20,                             /* test al, 0x20 (THRE)      */
  /* 0x0e */ 0x74, 0xfb,                             /* jz poll                   */
  /* 0x10 */ 0xac,                                   /* lodsb                     */
  /* 0x11 */ 0x84, 0xc0,                             /* test al, al               */
  /* 0x13 */ 0x74, 0x08,                             /* jz bench                  */
  /* 0x15 */ 0xba, LE32(GUEST_UART_BASE),            /* mov edx, THR              */
  /* 0x1a */ 0xee,                                   /* out dx, al                */
  /* 0x1b */ 0xeb, 0xe9,                             /* jmp next                  */
  /* bench: */
  /* 0x1d */ 0x8b, 0x0d, LE32(GUEST_ENTRY + GUEST_ITERATIONS_OFFSET), /* mov ecx, [iterations] */
  /* 0x23 */ 0xba, LE32(GUEST_UART_SCR),             /* mov edx, SCR              */
  /* 0x28 */ 0x85, 0xc9,                             /* test ecx, ecx             */
  /* 0x2a */ 0x74, 0x04,                             /* jz done                   */
  /* loop: */
  /* 0x2c */ 0xee,                                   /* out dx, al                */
  /* 0x2d */ 0x49,                                   /* dec ecx                   */
  /* 0x2e */ 0x75, 0xfc,                             /* jnz loop                  */
  /* done: */
  /* 0x30 */ 0xba, LE32(GUEST_DONE_PORT),            /* mov edx, done port        */
  /* 0x35 */ 0xee,                                   /* out dx, al                */
  /* halt: */
  /* 0x36 */ 0xf4,                                   /* hlt                       */
  /* 0x37 */ 0xeb, 0xfd,                             /* jmp halt                  */
};

#endif
