/*
 * A stand-in "kernel" for the QEMU tests: tern hands over to it, it marks r20 and traps, and
 * tern's program-interrupt vector must report the trap with the registers it was entered with.
 */
  .text
  .globl _start
_start:
  lis %r20, 0x7e57         /* r20 = 0x7e570000: "test" */
  trap
  b .
